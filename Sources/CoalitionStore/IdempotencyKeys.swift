import CoalitionDomain
import Foundation
import PQ

/// What a claim on an `Idempotency-Key` found.
public enum IdempotencyClaim: Sendable, Equatable {
    /// First use of the key: run the request; its answer is recorded with `recordIdempotentAnswer`.
    case claimed
    /// The key answered before, for the request with `fingerprint`.
    case answered(fingerprint: [UInt8], status: Int, headers: [String: String], body: [UInt8])
    /// The first request with this key is still running.
    case running
}

extension Store {
    /// Claims `key` for the caller's request. The fingerprint is stored now when it is known
    /// (a JSON body read whole), or with the answer (a body hashed as it streams). Keys live 24
    /// hours; a claim whose request never finished (the server died before its transaction
    /// committed) may be taken over after 5 minutes.
    public func claimIdempotencyKey(_ key: String, fingerprint: [UInt8]?, caller: Caller) async throws -> IdempotencyClaim {
        try await transaction(as: caller) { tx in
            try await tx.query("""
                DELETE FROM idempotency_keys WHERE user_id = \(caller.userID) AND key = \(key)
                  AND (created_at < now() - interval '24 hours' OR (state = 'running' AND created_at < now() - interval '5 minutes'))
                """)
            let inserted = try await tx.query("""
                INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES (\(caller.userID), \(key), \(fingerprint.map(PQBytes.init)))
                ON CONFLICT (user_id, key) DO NOTHING RETURNING 1 AS claimed
                """)
            if !inserted.isEmpty { return .claimed }
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
        _ key: String, caller: Caller, fingerprint: [UInt8], status: Int, headers: [String: String], body: [UInt8]
    ) async throws {
        try await transaction(as: caller) { tx in
            try await tx.recordIdempotentAnswer(key, fingerprint: fingerprint, status: status, headers: headers, body: body)
        }
    }

    /// Gives a claimed key back when its request failed before changing anything durable.
    public func releaseIdempotencyKey(_ key: String, caller: Caller) async throws {
        try await transaction(as: caller) { tx in
            try await tx.query("DELETE FROM idempotency_keys WHERE user_id = \(caller.userID) AND key = \(key) AND state = 'running'")
        }
    }
}

extension StoreTransaction {
    /// Records the answer of the caller's claimed key in this transaction: it is stored exactly
    /// when the change it answers is, so a crash after the commit cannot let a retry run the
    /// request again.
    public func recordIdempotentAnswer(_ key: String, fingerprint: [UInt8], status: Int, headers: [String: String], body: [UInt8]) async throws {
        guard let caller else { return }
        try await query("""
            UPDATE idempotency_keys SET state = 'done', fingerprint = \(PQBytes(fingerprint)), status_code = \(status),
                   response_headers = \(try PQJSON(encoding: headers)), response_body = \(PQBytes(body))
            WHERE user_id = \(caller.userID) AND key = \(key)
            """)
    }
}

extension Store {
    /// Deletes keys older than 24 hours, of every user.
    @discardableResult
    public func purgeIdempotencyKeys() async throws -> Int {
        try await pool.query("SELECT purge_idempotency_keys() AS n")[0].decode("n")
    }
}
