import CoalitionModels
import Foundation
import PQ

extension StoreTransaction {
    /// Entries in insertion order (by id), after the cursor's id.
    public func auditEntries(after id: Int64?, limit: Int) async throws -> [AuditEntry] {
        try await query("""
            SELECT id, seq, at, actor_user_id, actor_organization_id, action, entity, entity_id, data, prev_hash, hash
            FROM audit_log WHERE \(id) IS NULL OR id > \(id) ORDER BY id LIMIT \(limit)
            """).map(AuditEntry.init(row:))
    }
}

extension AuditEntry {
    init(row: Row) throws {
        self.init(
            id: try row.decode("id"), seq: try row.decode("seq"), at: try row.decode("at"),
            actorUserID: try row.decode("actor_user_id"), actorOrganizationID: try row.decode("actor_organization_id"),
            action: try row.decode("action"), entity: try row.decode("entity"), entityID: try row.decode("entity_id"),
            data: try row.decode("data", as: PQJSON.self).decode(JSONValue.self),
            prevHash: try row.decode("prev_hash"), hash: try row.decode("hash"))
    }
}

extension Store {
    /// Chains committed, unsealed audit entries (one sealer at a time; returns 0 when another
    /// sealer holds the lock). Runs in its own short transaction, never inside a business one.
    @discardableResult
    public func sealAudit() async throws -> Int {
        var total = 0
        while true {
            let sealed = try await pool.query("SELECT audit_seal(10000) AS n")[0].decode("n", as: Int.self)
            total += sealed
            if sealed < 10000 { return total }
        }
    }

    /// Committed entries not chained yet, and the age in seconds of the oldest (0 when none).
    public func auditBacklog() async throws -> (entries: Int, oldestSeconds: Double) {
        let row = try await pool.query("SELECT entries, oldest_seconds FROM audit_backlog()")[0]
        return (try row.decode("entries"), try row.decode("oldest_seconds"))
    }

    /// Seals what is committed, then recomputes the whole chain in PostgreSQL.
    public func verifyAudit() async throws -> AuditVerification {
        try await sealAudit()
        let row = try await pool.query("SELECT ok, entries, first_bad_seq, head_hash AS head FROM audit_verify()")[0]
        return AuditVerification(
            ok: try row.decode("ok"), entries: try row.decode("entries"), firstBadSeq: try row.decode("first_bad_seq"),
            headHash: try row.decode("head"))
    }
}
