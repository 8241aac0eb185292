import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

/// What authentication needs to know of a presented token, read through `auth_token()`.
public struct TokenRecord: Sendable {
    public var tokenID: UUID
    public var secretHash: [UInt8]
    public var scopes: [TokenScope]
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var lastUsedAt: Date?
    public var userID: UUID
    public var organizationID: UUID
    public var role: Role
    public var userStatus: UserStatus
    public var organizationStatus: OrganizationStatus
    public var kind: TokenKind
}

/// Whether a password may be checked now: refused (429 with `Retry-After`), or allowed after
/// a delay that grows with the email's failures from every address.
public enum LoginAttempt: Sendable, Equatable {
    case refused(retryAfter: Int)
    case allowed(delayMilliseconds: Int)

    /// None below the per-email limit; then 250 ms, doubling with each further failure, at
    /// most 8 s.
    public static func delay(emailFailures: Int, limit: Int) -> Int {
        guard emailFailures >= limit else { return 0 }
        return min(8_000, 250 << min(6, emailFailures - limit))
    }
}

/// What login needs to know of a user, read through `auth_user_by_email()`.
public struct LoginRecord: Sendable {
    public var userID: UUID
    public var organizationID: UUID
    public var role: Role
    public var status: UserStatus
    public var passwordHash: String
    public var organizationStatus: OrganizationStatus
}

extension StoreTransaction {
    static let tokenColumns = "id, name, kind, key_id, scopes, expires_at, last_used_at, revoked_at, created_at"

    static func token(_ row: Row) throws -> APIToken {
        APIToken(
            id: try row.decode("id"), name: try row.decode("name"), kind: try row.decode("kind"),
            prefix: "clc_" + (try row.decode("key_id", as: String.self)), scopes: try row.decode("scopes"),
            expiresAt: try row.decode("expires_at"), lastUsedAt: try row.decode("last_used_at"),
            revokedAt: try row.decode("revoked_at"), createdAt: try row.decode("created_at"))
    }

    public func createToken(
        userID: UUID, organizationID: UUID, kind: TokenKind, name: String, keyID: String, secretHash: [UInt8],
        scopes: [TokenScope], expiresAt: Date?, caller: Caller? = nil
    ) async throws -> APIToken {
        let token = try Self.token(try await query("""
            INSERT INTO api_tokens (user_id, organization_id, kind, name, key_id, secret_hash, scopes, expires_at)
            VALUES (\(userID), \(organizationID), \(kind), \(name), \(keyID), \(PQBytes(secretHash)), \(scopes), \(expiresAt))
            RETURNING \(unescaped: Self.tokenColumns)
            """)[0])
        try await audit(kind == .api ? "token.create" : "auth.login", entity: "token", id: token.id.uuidString.lowercased(),
                        data: ["name": .string(name), "scopes": .array(scopes.map { .string($0.rawValue) })], caller: caller)
        return token
    }

    /// The caller's own tokens (row-level security: `user_id = app_user_id()`), newest last.
    public func tokens(after id: UUID?, limit: Int) async throws -> [APIToken] {
        try await query("""
            SELECT \(unescaped: Self.tokenColumns) FROM api_tokens
            WHERE user_id = app_user_id()
              AND (\(id) IS NULL OR (created_at, id) > (SELECT created_at, id FROM api_tokens WHERE id = \(id)))
            ORDER BY created_at, id LIMIT \(limit)
            """).map(Self.token)
    }

    /// Revokes one of the caller's tokens; nil when it has none with that id.
    public func revokeToken(id: UUID) async throws -> APIToken? {
        guard let row = try await query("""
            UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
            WHERE id = \(id) AND user_id = app_user_id() RETURNING \(unescaped: Self.tokenColumns)
            """).first else { return nil }
        try await audit("token.revoke", entity: "token", id: id.uuidString.lowercased())
        return try Self.token(row)
    }

    /// Tokens of an organization's users (for member admins and coalition admins).
    public func organizationTokens(organization: UUID, after id: UUID?, limit: Int) async throws -> [APIToken] {
        try await query("""
            SELECT \(unescaped: Self.tokenColumns) FROM api_tokens
            WHERE organization_id = \(organization)
              AND (\(id) IS NULL OR (created_at, id) > (SELECT created_at, id FROM api_tokens WHERE id = \(id)))
            ORDER BY created_at, id LIMIT \(limit)
            """).map(Self.token)
    }

    public func revokeOrganizationToken(organization: UUID, id: UUID) async throws -> APIToken? {
        guard let row = try await query("""
            UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
            WHERE id = \(id) AND organization_id = \(organization) RETURNING \(unescaped: Self.tokenColumns)
            """).first else { return nil }
        try await audit("token.revoke", entity: "token", id: id.uuidString.lowercased(), data: ["organization_id": .string(organization.uuidString.lowercased())])
        return try Self.token(row)
    }

    public func tokenRecord(keyID: String) async throws -> TokenRecord? {
        guard let row = try await query("SELECT * FROM auth_token(\(keyID))").first else { return nil }
        return TokenRecord(
            tokenID: try row.decode("token_id"), secretHash: try row.decode("secret_hash", as: PQBytes.self).bytes,
            scopes: try row.decode("scopes"), expiresAt: try row.decode("expires_at"), revokedAt: try row.decode("revoked_at"),
            lastUsedAt: try row.decode("last_used_at"), userID: try row.decode("user_id"),
            organizationID: try row.decode("organization_id"), role: try row.decode("role"),
            userStatus: try row.decode("user_status"), organizationStatus: try row.decode("organization_status"),
            kind: try row.decode("kind"))
    }

    /// Writes the last use of tokens (each at most once a minute): the server batches them.
    public func touchTokens(ids: [UUID]) async throws {
        try await query("SELECT auth_touch_tokens(\(ids))")
    }

    public func loginRecord(email: String) async throws -> LoginRecord? {
        guard let row = try await query("SELECT * FROM auth_user_by_email(\(email))").first else { return nil }
        return LoginRecord(
            userID: try row.decode("id"), organizationID: try row.decode("organization_id"), role: try row.decode("role"),
            status: try row.decode("status"), passwordHash: try row.decode("password_hash"),
            organizationStatus: try row.decode("organization_status"))
    }

    // MARK: login throttling

    /// Failures within `window` of this email from this address, of this address (any email)
    /// and of this email (any address), and the seconds until the oldest of each leaves the window.
    public func loginFailures(emailKey: String, address: String, windowSeconds: Int) async throws
        -> (pair: Int, address: Int, email: Int, pairRetryAfter: Int, addressRetryAfter: Int)
    {
        let row = try await query("""
            SELECT count(*) FILTER (WHERE email_key = \(emailKey) AND client_address = \(address)) AS by_pair,
                   count(*) FILTER (WHERE client_address = \(address)) AS by_address,
                   count(*) FILTER (WHERE email_key = \(emailKey)) AS by_email,
                   coalesce(ceil(extract(epoch FROM min(at) FILTER (WHERE email_key = \(emailKey) AND client_address = \(address))
                       + make_interval(secs => \(windowSeconds)) - now())), 0)::bigint AS pair_retry,
                   coalesce(ceil(extract(epoch FROM min(at) FILTER (WHERE client_address = \(address))
                       + make_interval(secs => \(windowSeconds)) - now())), 0)::bigint AS address_retry
            FROM login_failures
            WHERE (email_key = \(emailKey) OR client_address = \(address)) AND at > now() - make_interval(secs => \(windowSeconds))
            """)[0]
        return (try row.decode("by_pair"), try row.decode("by_address"), try row.decode("by_email"),
                try row.decode("pair_retry"), try row.decode("address_retry"))
    }

    /// Counts an attempt before the password is checked, under per-email and per-address
    /// locks, so that parallel guesses cannot all pass the throttle check at once. Guessing is
    /// refused per (email, address) and per address; failures of one email from many addresses
    /// only slow its logins down, so that nobody can lock a user out from elsewhere.
    public func beginLoginAttempt(emailKey: String, address: String, perEmail: Int, perAddress: Int, windowSeconds: Int) async throws -> LoginAttempt {
        try await query("SELECT pg_advisory_xact_lock(hashtext('login-email:' || \(emailKey))), pg_advisory_xact_lock(hashtext('login-address:' || \(address)))")
        let f = try await loginFailures(emailKey: emailKey, address: address, windowSeconds: windowSeconds)
        if f.pair >= perEmail { return .refused(retryAfter: max(1, f.pairRetryAfter)) }
        if f.address >= perAddress { return .refused(retryAfter: max(1, f.addressRetryAfter)) }
        try await query("INSERT INTO login_failures (email_key, client_address) VALUES (\(emailKey), \(address))")
        return .allowed(delayMilliseconds: LoginAttempt.delay(emailFailures: f.email, limit: perEmail))
    }

    /// Records a failed login (its attempt row stays and counts) in the audit trail.
    public func recordLoginFailure(emailKey: String, address: String) async throws {
        // Only something shaped like an address is kept: a password typed into the email field
        // must not land in the append-only log.
        let shown = Validate.email(emailKey) == nil ? emailKey : "(not an email address)"
        try await audit("auth.login_failed", entity: "user", id: nil, data: ["email": .string(shown), "client_address": .string(address)])
    }

    /// A success clears the failures of this email from this address only.
    public func clearLoginFailures(emailKey: String, address: String) async throws {
        try await query("DELETE FROM login_failures WHERE email_key = \(emailKey) AND client_address = \(address)")
    }
}
