import CoalitionDomain
import Foundation
import PQ

/// What a claim on an `Idempotency-Key` found.
public enum IdempotencyClaim: Sendable, Equatable {
    /// First use of the key (or a claim taken over): run the request; its answer is recorded
    /// with `recordIdempotentAnswer` under this claim.
    case claimed(UUID)
    /// The key answered before, for the request with `fingerprint`.
    case answered(fingerprint: [UInt8], status: Int, headers: [String: String], body: [UInt8])
    /// The first request with this key is still running.
    case running
}

extension Store {
    /// Claims `key` for the caller's request. The fingerprint is stored now when it is known
    /// (a JSON body read whole), or with the answer (a body hashed as it streams). Keys live 24
    /// hours; a claim whose request never finished (the server died before its transaction
    /// committed) may be taken over after 15 minutes, longer than any request may run (the
    /// read deadline and a bulk batch's 10-minute statement timeout).
    public func claimIdempotencyKey(_ key: String, fingerprint: [UInt8]?, caller: Caller) async throws -> IdempotencyClaim {
        try await transaction(as: caller) { tx in
            try await tx.query("""
                DELETE FROM idempotency_keys WHERE user_id = \(caller.userID) AND key = \(key)
                  AND (created_at < now() - interval '24 hours' OR (state = 'running' AND created_at < now() - interval '15 minutes'))
                """)
            let inserted = try await tx.query("""
                INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES (\(caller.userID), \(key), \(fingerprint.map(PQBytes.init)))
                ON CONFLICT (user_id, key) DO NOTHING RETURNING claim_id
                """)
            if let claimed = inserted.first { return .claimed(try claimed.decode("claim_id")) }
            guard let row = try await tx.query("""
                SELECT fingerprint, state, status_code, response_headers, response_body FROM idempotency_keys
                WHERE user_id = \(caller.userID) AND key = \(key)
                """).first,
                try row.decode("state", as: String.self) == "done",
                let stored = try row.decode("fingerprint", as: PQBytes?.self)
            else { return .running }
            let headers = try row.decode("response_headers", as: PQJSON?.self)?.decode([String: String].self) ?? [:]
            return .answered(
                fingerprint: stored.bytes, status: try row.decode("status_code"), headers: headers,
                body: try row.decode("response_body", as: PQBytes?.self)?.bytes ?? [])
        }
    }

    /// Records the answer of a claimed key after its request's own transaction (for answers
    /// that change nothing, such as a refusal or a dry run).
    public func completeIdempotencyKey(
        _ key: String, claim: UUID, caller: Caller, fingerprint: [UInt8], status: Int, headers: [String: String], body: [UInt8]
    ) async throws {
        try await transaction(as: caller) { tx in
            _ = try await tx.recordIdempotentAnswer(key, claim: claim, fingerprint: fingerprint, status: status, headers: headers, body: body)
        }
    }

    /// Gives a claimed key back when its request failed before changing anything durable.
    public func releaseIdempotencyKey(_ key: String, claim: UUID, caller: Caller) async throws {
        try await transaction(as: caller) { tx in
            try await tx.query("""
                DELETE FROM idempotency_keys WHERE user_id = \(caller.userID) AND key = \(key) AND claim_id = \(claim) AND state = 'running'
                """)
        }
    }
}

extension StoreTransaction {
    /// Records the answer of the caller's claimed key in this transaction: it is stored exactly
    /// when the change it answers is, so a crash after the commit cannot let a retry run the
    /// request again.
    /// False when the claim is no longer this request's (a retry took it over).
    public func recordIdempotentAnswer(
        _ key: String, claim: UUID, fingerprint: [UInt8], status: Int, headers: [String: String], body: [UInt8]
    ) async throws -> Bool {
        guard let caller else { return false }
        return try await query("""
            UPDATE idempotency_keys SET state = 'done', fingerprint = \(PQBytes(fingerprint)), status_code = \(status),
                   response_headers = \(try PQJSON(encoding: headers)), response_body = \(PQBytes(body))
            WHERE user_id = \(caller.userID) AND key = \(key) AND claim_id = \(claim) AND state = 'running'
            """).affectedRows == 1
    }
}

extension Store {
    /// Deletes keys older than 24 hours, of every user.
    @discardableResult
    public func purgeIdempotencyKeys() async throws -> Int {
        try await pool.query("SELECT purge_idempotency_keys() AS n")[0].decode("n")
    }
}
