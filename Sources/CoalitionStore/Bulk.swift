import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

/// A validated bulk row, ready to store.
public struct BulkCandidate: Sendable {
    public var line: Int
    public var milestoneID: UUID
    public var projectID: UUID
    public var submission: ValidSubmission
    public init(line: Int, milestoneID: UUID, projectID: UUID, submission: ValidSubmission) {
        self.line = line
        self.milestoneID = milestoneID
        self.projectID = projectID
        self.submission = submission
    }
}

/// What storing a batch did, per line.
public struct BulkStoreResult: Sendable {
    public var accepted: [Int] = []
    public var unchanged: [Int] = []
    /// Lines whose natural key holds another value, with the live submission's id.
    public var conflicts: [(line: Int, existing: UUID)] = []
}

extension StoreTransaction {
    /// Stores valid rows set-wise: COPY into a temporary table, one INSERT … ON CONFLICT for
    /// the natural key, and one audit entry holding a digest of the stored rows.
    public func storeBulk(_ rows: [BulkCandidate], actor: Actor) async throws -> BulkStoreResult {
        var result = BulkStoreResult()
        guard !rows.isEmpty else { return result }
        // A batch of 50,000 rows takes longer than an interactive statement may.
        try await connection.executeScript("""
            SET LOCAL statement_timeout = '10min';
            CREATE TEMP TABLE bulk_rows (
                line int, milestone_id uuid, project_id uuid, period_start date, period_end date, value numeric, unit text,
                value_canonical numeric, notes text, evidence_url text, external_ref text
            ) ON COMMIT DROP
            """)
        let chunks = AsyncStream<[UInt8]> { continuation in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 16)
            for r in rows {
                let s = r.submission
                let fields: [String?] = [
                    String(r.line), r.milestoneID.uuidString, r.projectID.uuidString, s.periodStart.description, s.periodEnd.description,
                    s.value.description, s.unit, s.valueCanonical.description, s.notes, s.evidenceURL, s.externalRef,
                ]
                buffer += Array(fields.map { $0.map(Self.csvQuoted) ?? "" }.joined(separator: ",").utf8)
                buffer.append(UInt8(ascii: "\n"))
                if buffer.count > 1 << 16 {
                    continuation.yield(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            continuation.yield(buffer)
            continuation.finish()
        }
        _ = try await connection.copyIn("COPY bulk_rows FROM STDIN (FORMAT csv)", from: chunks)
        let outcome = try await query("""
            WITH ins AS (
                INSERT INTO submissions (milestone_id, project_id, organization_id, period_start, period_end, value, unit,
                                         value_canonical, notes, evidence_url, external_ref, submitted_by)
                SELECT milestone_id, project_id, \(actor.organizationID), period_start, period_end, value, unit, value_canonical,
                       notes, evidence_url, external_ref, \(actor.userID)
                FROM bulk_rows ORDER BY line
                ON CONFLICT (milestone_id, organization_id, period_start, period_end)
                    WHERE status IN ('submitted', 'approved', 'verified') DO NOTHING
                RETURNING milestone_id, period_start, period_end
            )
            SELECT b.line, (i.milestone_id IS NOT NULL) AS inserted, e.id AS existing, (e.value_canonical = b.value_canonical) AS same
            FROM bulk_rows b
            LEFT JOIN ins i ON i.milestone_id = b.milestone_id AND i.period_start = b.period_start AND i.period_end = b.period_end
            LEFT JOIN submissions e ON e.milestone_id = b.milestone_id AND e.organization_id = \(actor.organizationID)
                 AND e.period_start = b.period_start AND e.period_end = b.period_end AND e.status IN ('submitted', 'approved', 'verified')
            ORDER BY b.line
            """)
        for row in outcome {
            let line: Int = try row.decode("line")
            if try row.decode("inserted", as: Bool.self) {
                result.accepted.append(line)
            } else if try row.decode("same", as: Bool?.self) == true {
                result.unchanged.append(line)
            } else if let existing = try row.decode("existing", as: UUID?.self) {
                result.conflicts.append((line, existing))
            } else {
                // Another transaction held the key and has since let it go: a retry stores it.
                throw PQError(.server, message: "serialization failure", sqlState: SQLState.serializationFailure.rawValue)
            }
        }
        if !result.accepted.isEmpty {
            let digest: String = try await query("""
                SELECT encode(sha256(convert_to(string_agg(concat_ws('|', line, milestone_id, period_start, period_end, value, unit), E'\\n' ORDER BY line), 'UTF8')), 'hex') AS d
                FROM bulk_rows JOIN unnest(\(result.accepted)::int[]) AS a(accepted) ON a.accepted = bulk_rows.line
                """)[0].decode("d")
            try await audit("submission.bulk", entity: "submission", id: nil, data: [
                "rows": .number(String(result.accepted.count)), "sha256": .string(digest),
                "first_line": .number(String(result.accepted.first!)), "last_line": .number(String(result.accepted.last!)),
            ])
        }
        return result
    }

    static func csvQuoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Projects by code, visible to the actor, with their milestones by key and each
    /// milestone's metric; for resolving bulk rows without a query per row.
    public func bulkLookup(projectCodes: Set<String>) async throws -> [String: (project: UUID, participates: Bool, milestones: [String: (Milestone, String, Aggregation)])] {
        let rows = try await query("""
            SELECT p.code, p.id AS project_id,
                   EXISTS (SELECT 1 FROM project_participants pp WHERE pp.project_id = p.id AND pp.organization_id = app_organization_id()) AS participates,
                   m.id, m.key, m.title, m.metric, mt.unit, mt.aggregation, m.target_value, m.due_on, m.status
            FROM projects p LEFT JOIN milestones m ON m.project_id = p.id LEFT JOIN metrics mt ON mt.code = m.metric
            WHERE p.code = ANY(\(Array(projectCodes)))
            """)
        var result: [String: (project: UUID, participates: Bool, milestones: [String: (Milestone, String, Aggregation)])] = [:]
        for row in rows {
            let code: String = try row.decode("code")
            let fresh: (project: UUID, participates: Bool, milestones: [String: (Milestone, String, Aggregation)]) =
                (try row.decode("project_id"), try row.decode("participates"), [:])
            var entry = result[code] ?? fresh
            if let id = try row.decode("id", as: UUID?.self) {
                let m = Milestone(
                    id: id, projectID: entry.project, key: try row.decode("key"), title: try row.decode("title"), metric: try row.decode("metric"),
                    unit: try row.decode("unit"), targetValue: try row.decode("target_value", as: Decimal.self).description,
                    dueOn: try row.decode("due_on", as: PQDate.self).description, status: try row.decode("status"))
                entry.milestones[m.key] = (m, m.unit, Aggregation(rawValue: try row.decode("aggregation")) ?? .sum)
            }
            result[code] = entry
        }
        return result
    }
}
