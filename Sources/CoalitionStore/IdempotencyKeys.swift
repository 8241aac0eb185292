import CoalitionDomain
import Foundation
import PQ

/// What a claim on an `Idempotency-Key` found.
public enum IdempotencyClaim: Sendable, Equatable {
    /// First use of the key: run the request, then `complete` it.
    case claimed
    /// The key answered before: replay this response.
    case replay(status: Int, headers: [String: String], body: [UInt8])
    /// The key was used with another request.
    case mismatch
    /// The first request with this key is still running.
    case inProgress
}

extension Store {
    /// Claims `key` for the caller's request with `fingerprint`. Keys live 24 hours; a claim
    /// whose request never finished (the server died) may be taken over after 5 minutes.
    public func claimIdempotencyKey(_ key: String, fingerprint: [UInt8], caller: Caller) async throws -> IdempotencyClaim {
        try await transaction(as: caller) { tx in
            try await tx.query("""
                DELETE FROM idempotency_keys WHERE user_id = \(caller.userID) AND key = \(key)
                  AND (created_at < now() - interval '24 hours' OR (state = 'running' AND created_at < now() - interval '5 minutes'))
                """)
            let inserted = try await tx.query("""
                INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES (\(caller.userID), \(key), \(PQBytes(fingerprint)))
                ON CONFLICT (user_id, key) DO NOTHING RETURNING 1 AS claimed
                """)
            if !inserted.isEmpty { return .claimed }
            guard let row = try await tx.query("""
                SELECT fingerprint, state, status_code, response_headers, response_body FROM idempotency_keys
                WHERE user_id = \(caller.userID) AND key = \(key)
                """).first else { return .inProgress }
            guard try row.decode("fingerprint", as: PQBytes.self).bytes == fingerprint else { return .mismatch }
            guard try row.decode("state", as: String.self) == "done" else { return .inProgress }
            let headers = try row.decode("response_headers", as: PQJSON?.self)?.decode([String: String].self) ?? [:]
            return .replay(
                status: try row.decode("status_code"), headers: headers,
                body: try row.decode("response_body", as: PQBytes?.self)?.bytes ?? [])
        }
    }

    /// Stores the response of a claimed key.
    public func completeIdempotencyKey(_ key: String, caller: Caller, status: Int, headers: [String: String], body: [UInt8]) async throws {
        try await transaction(as: caller) { tx in
            try await tx.query("""
                UPDATE idempotency_keys SET state = 'done', status_code = \(status), response_headers = \(try PQJSON(encoding: headers)),
                       response_body = \(PQBytes(body))
                WHERE user_id = \(caller.userID) AND key = \(key)
                """)
        }
    }

    /// Gives a claimed key back when its request failed before changing anything durable.
    public func releaseIdempotencyKey(_ key: String, caller: Caller) async throws {
        try await transaction(as: caller) { tx in
            try await tx.query("DELETE FROM idempotency_keys WHERE user_id = \(caller.userID) AND key = \(key) AND state = 'running'")
        }
    }
}

extension Store {
    /// Deletes keys older than 24 hours, of every user.
    @discardableResult
    public func purgeIdempotencyKeys() async throws -> Int {
        try await pool.query("SELECT purge_idempotency_keys() AS n")[0].decode("n")
    }
}
