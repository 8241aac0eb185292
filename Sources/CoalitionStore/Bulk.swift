import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

/// The valid rows of a batch, kept as the text `COPY … FROM STDIN (FORMAT csv)` reads, in
/// chunks of about 1 MiB: compact (no object per row), and nothing grows by reallocation.
public struct BulkStaging: Sendable {
    public private(set) var chunks: [[UInt8]] = []
    /// The file line of each staged row, in order.
    public private(set) var lines: [Int] = []
    public var count: Int { lines.count }
    static let chunkBytes = 1 << 20

    public init() {}

    /// The text of the ids rows name, made once per id rather than once per row.
    private var idText: [UUID: String] = [:]

    public mutating func append(_ candidate: BulkCandidate) {
        let s = candidate.submission
        let value = s.value.description
        // Most rows are in the metric's own unit: the canonical value is the value, formatted once.
        let canonical = s.valueCanonical == s.value ? value : s.valueCanonical.description
        var line: [UInt8] = []
        line.reserveCapacity(160)
        func field(_ text: String?, first: Bool = false) {
            if !first { line.append(UInt8(ascii: ",")) }
            guard let text else { return }  // an empty unquoted field is NULL
            CSVText.append(field: text, to: &line, quotingEmpty: true)
        }
        field(String(candidate.line), first: true)
        field(text(of: candidate.milestoneID))
        field(text(of: candidate.projectID))
        field(s.periodStart.description)
        field(s.periodEnd.description)
        field(value)
        field(s.unit)
        field(canonical)
        field(s.notes)
        field(s.evidenceURL)
        field(s.externalRef)
        line.append(UInt8(ascii: "\n"))
        if chunks.isEmpty || chunks[chunks.count - 1].count + line.count > Self.chunkBytes {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(max(Self.chunkBytes, line.count))
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(contentsOf: line)
        lines.append(candidate.line)
    }

    private mutating func text(of id: UUID) -> String {
        if let known = idText[id] { return known }
        let text = id.uuidString
        idText[id] = text
        return text
    }
}

extension StoreTransaction {
    /// Stores staged rows set-wise: COPY into a temporary table, one INSERT … ON CONFLICT for
    /// the natural key, and one audit entry holding a digest of the stored rows.
    public func storeBulk(_ staging: BulkStaging, caller: Caller) async throws -> BulkStoreOutcome {
        var result = BulkStoreOutcome()
        guard staging.count > 0 else { return result }
        // A batch of 50,000 rows takes longer than an interactive statement may.
        try await connection.executeScript("""
            SET LOCAL statement_timeout = '10min';
            CREATE TEMP TABLE bulk_rows (
                line int, milestone_id uuid, project_id uuid, period_start date, period_end date, value numeric, unit text,
                value_canonical numeric, notes text, evidence_url text, external_ref text
            ) ON COMMIT DROP
            """)
        let chunks = AsyncStream<[UInt8]> { continuation in
            for chunk in staging.chunks { continuation.yield(chunk) }
            continuation.finish()
        }
        _ = try await connection.copyIn("COPY bulk_rows FROM STDIN (FORMAT csv)", from: chunks)
        // One statement stores the rows, writes the batch's audit entry (a digest of the stored
        // rows) and answers only for the rows it did not store, with the live row that holds
        // each one's key. The totals triggers run once for the statement.
        let missed = try await query("""
            WITH ins AS (
                INSERT INTO submissions (milestone_id, project_id, organization_id, period_start, period_end, value, unit,
                                         value_canonical, notes, evidence_url, external_ref, submitted_by)
                SELECT milestone_id, project_id, \(caller.organizationID), period_start, period_end, value, unit, value_canonical,
                       notes, evidence_url, external_ref, \(caller.userID)
                FROM bulk_rows ORDER BY line
                ON CONFLICT (milestone_id, organization_id, period_start, period_end)
                    WHERE status IN ('submitted', 'approved', 'verified') DO NOTHING
                RETURNING milestone_id, period_start, period_end
            ), stored AS MATERIALIZED (
                SELECT b.* FROM bulk_rows b
                WHERE EXISTS (SELECT 1 FROM ins i WHERE i.milestone_id = b.milestone_id AND i.period_start = b.period_start AND i.period_end = b.period_end)
            ), audit AS (
                INSERT INTO audit_log (actor_user_id, actor_organization_id, action, entity, entity_id, data)
                SELECT \(caller.userID), \(caller.organizationID), 'submission.bulk', 'submission', NULL, jsonb_build_object(
                    'rows', count(*), 'first_line', min(line), 'last_line', max(line),
                    'sha256', encode(sha256(convert_to(string_agg(concat_ws('|', line, milestone_id, period_start, period_end, value, unit), E'\\n' ORDER BY line), 'UTF8')), 'hex'))
                FROM stored HAVING count(*) > 0
            ), missed AS MATERIALIZED (
                SELECT b.line, b.milestone_id, b.period_start, b.period_end, b.value_canonical FROM bulk_rows b
                WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.line = b.line)
            )
            SELECT m.line, e.id AS existing, (e.value_canonical = m.value_canonical) AS same
            FROM missed m LEFT JOIN LATERAL (
                SELECT s.id, s.value_canonical FROM submissions s
                WHERE s.milestone_id = m.milestone_id AND s.organization_id = \(caller.organizationID)
                  AND s.period_start = m.period_start AND s.period_end = m.period_end AND s.status IN ('submitted', 'approved', 'verified')
            ) e ON true
            ORDER BY m.line
            """)
        var notStored = Set<Int>()
        for row in missed {
            let line: Int = try row.decode("line")
            notStored.insert(line)
            if try row.decode("same", as: Bool?.self) == true {
                result.unchanged.append(line)
            } else if let existing = try row.decode("existing", as: UUID?.self) {
                result.conflicts.append(BulkConflict(line: line, existing: existing))
            } else {
                // Another transaction held the key and has since let it go: a retry stores it.
                throw PQError(.server, message: "serialization failure", sqlState: SQLState.serializationFailure.rawValue)
            }
        }
        result.accepted = staging.lines.filter { !notStored.contains($0) }
        return result
    }

    /// Projects by code, visible to the caller, with their milestones by key and each
    /// milestone's metric; for resolving bulk rows without a query per row.
    public func bulkProjects(codes: Set<String>) async throws -> [String: BulkProject] {
        let rows = try await query("""
            SELECT p.code, p.id AS project_id,
                   EXISTS (SELECT 1 FROM project_participants pp WHERE pp.project_id = p.id AND pp.organization_id = app_organization_id()) AS participates,
                   m.id, m.key, mt.unit, mt.aggregation
            FROM projects p LEFT JOIN milestones m ON m.project_id = p.id LEFT JOIN metrics mt ON mt.code = m.metric
            WHERE p.code = ANY(\(Array(codes)))
            """)
        var result: [String: BulkProject] = [:]
        for row in rows {
            let code: String = try row.decode("code")
            var project = try result[code] ?? BulkProject(id: row.decode("project_id"), participates: row.decode("participates"), milestones: [:])
            if let id = try row.decode("id", as: UUID?.self) {
                project.milestones[try row.decode("key")] = BulkMilestone(
                    id: id, projectID: project.id, metricUnit: try row.decode("unit"), aggregation: try row.decode("aggregation"))
            }
            result[code] = project
        }
        return result
    }
}
