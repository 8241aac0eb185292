import CoalitionModels
import Foundation
import PQ

/// What waits for a coalition admin or an auditor: the console's dashboard counts, each counted
/// only up to `countLimit + 1` (a queue of a million approved submissions is "more than 1,000",
/// not a scan of a million rows on every dashboard view).
public struct ReviewQueues: Sendable, Equatable {
    public static let countLimit = 1000
    public var standardsInReview: Int
    public var submissionsToReview: Int
    public var submissionsToVerify: Int
}

extension StoreTransaction {
    /// The queues as the caller's row-level security lets it count them.
    public func reviewQueues() async throws -> ReviewQueues {
        let cap = ReviewQueues.countLimit + 1
        let row = try await query("""
            SELECT (SELECT count(*) FROM (SELECT 1 FROM standards WHERE status = 'in_review' LIMIT \(cap)) s) AS standards,
                   (SELECT count(*) FROM (SELECT 1 FROM submissions WHERE status = 'submitted' LIMIT \(cap)) s) AS to_review,
                   (SELECT count(*) FROM (SELECT 1 FROM submissions WHERE status = 'approved' LIMIT \(cap)) s) AS to_verify
            """).first
        return ReviewQueues(
            standardsInReview: Int(try row?.decode("standards", as: Int64.self) ?? 0),
            submissionsToReview: Int(try row?.decode("to_review", as: Int64.self) ?? 0),
            submissionsToVerify: Int(try row?.decode("to_verify", as: Int64.self) ?? 0))
    }

    /// Audit entries newest first, before the entry `before` (a page's cursor), optionally of
    /// one entity type and one action.
    public func auditEntries(before: Int64?, entity: String?, action: String?, limit: Int) async throws -> [AuditEntry] {
        try await query("""
            SELECT id, seq, at, actor_user_id, actor_organization_id, action, entity, entity_id, data, prev_hash, hash
            FROM audit_log
            WHERE (\(before)::bigint IS NULL OR id < \(before)) AND (\(entity)::text IS NULL OR entity = \(entity))
              AND (\(action)::text IS NULL OR action = \(action))
            ORDER BY id DESC LIMIT \(limit)
            """).map(AuditEntry.init(row:))
    }

    /// The entity types and actions the log holds, for the console's filters.
    public func auditVocabulary() async throws -> (entities: [String], actions: [String]) {
        // A skip scan over audit_log_entity_action: one probe per distinct pair.
        let rows = try await query("""
            WITH RECURSIVE pairs AS (
                (SELECT entity, action FROM audit_log ORDER BY entity, action LIMIT 1)
                UNION ALL
                SELECT next.entity, next.action FROM pairs CROSS JOIN LATERAL (
                    SELECT a.entity, a.action FROM audit_log a WHERE (a.entity, a.action) > (pairs.entity, pairs.action)
                    ORDER BY a.entity, a.action LIMIT 1) next
            )
            SELECT entity, action FROM pairs
            """)
        var entities: [String] = []
        var actions = Set<String>()
        for row in rows {
            let entity: String = try row.decode("entity")
            if entities.last != entity { entities.append(entity) }
            actions.insert(try row.decode("action"))
        }
        return (entities, actions.sorted())
    }

    /// Names of the organizations the caller may see (a member sees its own).
    public func organizationNames() async throws -> [UUID: String] {
        var names: [UUID: String] = [:]
        for row in try await query("SELECT id, name FROM organizations") { names[try row.decode("id")] = try row.decode("name") }
        return names
    }

    /// Display names of the users named, as far as the caller may see them.
    public func userNames(_ ids: [UUID]) async throws -> [UUID: String] {
        guard !ids.isEmpty else { return [:] }
        var names: [UUID: String] = [:]
        for row in try await query("SELECT id, display_name FROM users WHERE id = ANY(\(ids))") {
            names[try row.decode("id")] = try row.decode("display_name")
        }
        return names
    }
}
