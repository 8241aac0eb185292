import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

/// What client authentication needs of a PACT client, read before there is a caller.
public struct PACTClientCredentials: Sendable {
    public var id: UUID
    public var secretHash: [UInt8]
    public var organizationID: UUID?
    public var scopes: [String]
    public var disabled: Bool
}

/// The PACT client an access token was issued to.
public struct PACTTokenHolder: Sendable, Equatable {
    public var clientID: UUID
    public var organizationID: UUID?
    public var scopes: [String]
    public var expiresAt: Date
    public var disabled: Bool
}

/// A RequestCreated event waiting for its answer, taken by one server for one attempt.
public struct PACTDelivery: Sendable {
    public var id: UUID
    public var clientID: UUID
    public var requestEventID: String
    public var source: String
    public var request: JSONValue
    public var attempts: Int
}

/// How the delivery worker reaches a client's host: the client's organization (what it may
/// see) and its sealed callback credentials.
public struct PACTCallback: Sendable {
    public var organizationID: UUID?
    public var clientID: String?
    public var sealedSecret: [UInt8]?
}

extension StoreTransaction {
    static let pactClientColumns = "id, client_id, name, organization_id, scopes, callback_client_id, created_at, disabled_at"

    static func pactClient(_ row: Row) throws -> PACTClient {
        PACTClient(
            id: try row.decode("id"), clientID: try row.decode("client_id"), name: try row.decode("name"),
            organizationID: try row.decode("organization_id"), scopes: try row.decode("scopes"),
            callbackClientID: try row.decode("callback_client_id"), createdAt: try row.decode("created_at"), disabledAt: try row.decode("disabled_at"))
    }

    /// Registers a PACT client (secret hash and sealed callback secret only), audited.
    public func createPACTClient(
        clientID: String, secretHash: [UInt8], name: String, organizationID: UUID?, scopes: [String],
        callbackClientID: String?, sealedCallbackSecret: [UInt8]?, createdBy: UUID?
    ) async throws -> PACTClient {
        let client = try Self.pactClient(try await query("""
            INSERT INTO pact_clients (client_id, secret_hash, name, organization_id, scopes, callback_client_id, callback_secret_sealed, created_by)
            VALUES (\(clientID), \(PQBytes(secretHash)), \(name), \(organizationID), \(scopes), \(callbackClientID),
                    \(sealedCallbackSecret.map(PQBytes.init)), \(createdBy))
            RETURNING \(unescaped: Self.pactClientColumns)
            """)[0])
        var data: [String: JSONValue] = ["name": .string(name), "client_id": .string(clientID)]
        if let organizationID { data["organization_id"] = .string(organizationID.uuidString.lowercased()) }
        try await audit("pact_client.create", entity: "pact_client", id: client.id.uuidString.lowercased(), data: data)
        return client
    }

    /// The PACT clients the caller manages (row-level security), oldest first.
    public func pactClients(limit: Int) async throws -> [PACTClient] {
        try await query("SELECT \(unescaped: Self.pactClientColumns) FROM pact_clients ORDER BY created_at, id LIMIT \(limit)")
            .map(Self.pactClient)
    }

    /// Disables a client the caller manages (row-level security), by its id or its public
    /// `client_id`, and deletes its access tokens, audited; nil when the caller sees no such
    /// client or it is disabled already. `asOwner`: the owner's command, which deletes the
    /// tokens itself rather than through the caller's function.
    public func disablePACTClient(id: UUID? = nil, clientID: String? = nil, asOwner: Bool = false) async throws -> PACTClient? {
        guard let row = try await query("""
            UPDATE pact_clients SET disabled_at = now()
            WHERE (id = \(id) OR client_id = \(clientID)) AND disabled_at IS NULL RETURNING \(unescaped: Self.pactClientColumns)
            """).first else { return nil }
        let client = try Self.pactClient(row)
        let id = client.id
        let tokens = asOwner
            ? try await query("WITH gone AS (DELETE FROM pact_tokens WHERE client_id = \(id) RETURNING 1) SELECT count(*)::int AS n FROM gone")[0]
                .decode("n", as: Int.self)
            : try await query("SELECT pact_revoke_client_tokens(\(id)) AS n")[0].decode("n", as: Int.self)
        try await audit("pact_client.disable", entity: "pact_client", id: id.uuidString.lowercased(), data: ["tokens_revoked": .number(String(tokens))])
        return client
    }

    public func pactClientCredentials(clientID: String) async throws -> PACTClientCredentials? {
        guard let row = try await query("SELECT * FROM pact_client_by_client_id(\(clientID))").first else { return nil }
        return PACTClientCredentials(
            id: try row.decode("id"), secretHash: try row.decode("secret_hash", as: PQBytes.self).bytes,
            organizationID: try row.decode("organization_id"), scopes: try row.decode("scopes"), disabled: try row.decode("disabled"))
    }

    /// Stores a new access token's hash for `lifetimeSeconds`. Expired tokens of every client go
    /// with it, and a client keeps at most `maxLive` live tokens (its oldest beyond them end).
    public func issuePACTToken(hash: [UInt8], client: UUID, lifetimeSeconds: Int, maxLive: Int) async throws {
        try await query("""
            WITH gone AS (DELETE FROM pact_tokens WHERE expires_at < now() - interval '1 day'),
            surplus AS (
                DELETE FROM pact_tokens WHERE client_id = \(client) AND token_hash IN (
                    SELECT token_hash FROM pact_tokens WHERE client_id = \(client) ORDER BY expires_at DESC OFFSET \(maxLive - 1))
            )
            INSERT INTO pact_tokens (token_hash, client_id, expires_at)
            VALUES (\(PQBytes(hash)), \(client), now() + \(lifetimeSeconds) * interval '1 second')
            """)
    }

    public func pactTokenHolder(hash: [UInt8]) async throws -> PACTTokenHolder? {
        guard let row = try await query("SELECT * FROM pact_client_by_token(\(PQBytes(hash)))").first else { return nil }
        return PACTTokenHolder(
            clientID: try row.decode("id"), organizationID: try row.decode("organization_id"), scopes: try row.decode("scopes"),
            expiresAt: try row.decode("expires_at"), disabled: try row.decode("disabled"))
    }

    /// Records a RequestCreated event for the delivery worker; a repeat of the same event id by
    /// the same client is recorded once. `.full` when the client has `maxPending` requests
    /// waiting already (a client cannot fill the table).
    public enum Enqueued: Sendable, Equatable { case new, repeated, full }

    public func enqueuePACTDelivery(client: UUID, requestEventID: String, source: String, request: JSONValue, maxPending: Int) async throws -> Enqueued {
        let row = try await query("""
            WITH pending AS (SELECT count(*) AS n FROM pact_deliveries WHERE client_id = \(client) AND state = 'pending'),
            added AS (
                INSERT INTO pact_deliveries (client_id, request_event_id, source, request)
                SELECT \(client), \(requestEventID), \(source), \(PQJSON(text: request.canonicalText)) FROM pending WHERE n < \(maxPending)
                ON CONFLICT ON CONSTRAINT pact_deliveries_request_key DO NOTHING RETURNING id
            )
            SELECT (SELECT count(*) FROM added) AS added, (SELECT n FROM pending) AS pending,
                   EXISTS (SELECT 1 FROM pact_deliveries WHERE client_id = \(client) AND request_event_id = \(requestEventID)) AS known
            """)[0]
        if try row.decode("added", as: Int.self) > 0 { return .new }
        return try row.decode("known", as: Bool.self) ? .repeated : .full
    }

    /// Takes the most overdue delivery for one attempt, leased for `leaseSeconds` under a new
    /// lease id: another server skips it meanwhile, only the holder of the lease records the
    /// outcome, and one whose server died mid-attempt is due again when the lease ends
    /// (delivery is at least once).
    public func takeDueDelivery(leaseSeconds: Int) async throws -> (delivery: PACTDelivery, lease: UUID)? {
        guard let row = try await query("""
            UPDATE pact_deliveries d SET next_attempt_at = now() + \(leaseSeconds) * interval '1 second', lease = gen_random_uuid()
            WHERE d.id = (SELECT id FROM pact_deliveries WHERE state = 'pending' AND next_attempt_at <= now()
                          ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING d.id, d.client_id, d.request_event_id, d.source, d.request::text AS request, d.attempts, d.lease
            """).first else { return nil }
        let delivery = PACTDelivery(
            id: try row.decode("id"), clientID: try row.decode("client_id"), requestEventID: try row.decode("request_event_id"),
            source: try row.decode("source"), request: try JSONValue.parse(Array(try row.decode("request", as: String.self).utf8)),
            attempts: try row.decode("attempts", as: Int.self))
        return (delivery, try row.decode("lease"))
    }

    public func pactCallback(client: UUID) async throws -> PACTCallback? {
        guard let row = try await query("SELECT * FROM pact_client_callback(\(client))").first else { return nil }
        return PACTCallback(
            organizationID: try row.decode("organization_id"), clientID: try row.decode("callback_client_id"),
            sealedSecret: try row.decode("callback_secret_sealed", as: PQBytes?.self)?.bytes)
    }

    /// Records an attempt: delivered (with what was sent), or failed and due again after
    /// `retryAfterSeconds`, or given up (`retryAfterSeconds` nil).
    public func recordDeliveryAttempt(_ id: UUID, lease: UUID, delivered outcome: String?, error: String?, retryAfterSeconds: Int?) async throws {
        try await query("""
            UPDATE pact_deliveries SET attempts = attempts + 1, last_error = \(error), outcome = coalesce(\(outcome), outcome),
                   state = CASE WHEN \(outcome)::text IS NOT NULL THEN 'delivered' WHEN \(retryAfterSeconds)::int IS NULL THEN 'failed' ELSE 'pending' END,
                   delivered_at = CASE WHEN \(outcome)::text IS NOT NULL THEN now() END,
                   next_attempt_at = now() + coalesce(\(retryAfterSeconds), 0) * interval '1 second', lease = NULL
            WHERE id = \(id) AND lease = \(lease) AND state = 'pending'
            """)
    }
}
