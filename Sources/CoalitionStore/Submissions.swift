import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

/// What storing a submission did.
public enum SubmissionOutcome: Sendable, Equatable {
    case created(Submission)
    /// The same row was live already: nothing stored.
    case unchanged(Submission)
    /// A live submission with the same natural key holds another value.
    case conflict(existing: UUID)
}

/// Filters of `GET /v1/submissions`.
public struct SubmissionFilter: Sendable {
    public var project: UUID?
    public var milestone: UUID?
    public var organization: UUID?
    public var status: SubmissionStatus?
    public var updatedAfter: Date?
    public init() {}
}

extension StoreTransaction {
    static let submissionColumns = """
        id, milestone_id, project_id, organization_id, period_start, period_end, value, unit, value_canonical, notes,
        evidence_url, external_ref, status, submitted_by, reviewed_by, review_comment, verified_by, created_at, updated_at,
        (extract(epoch FROM updated_at) * 1000000)::bigint AS feed_micros
        """

    static func submission(_ row: Row) throws -> Submission {
        Submission(
            id: try row.decode("id"), milestoneID: try row.decode("milestone_id"), projectID: try row.decode("project_id"),
            organizationID: try row.decode("organization_id"),
            periodStart: try row.decode("period_start"), periodEnd: try row.decode("period_end"),
            value: try row.decode("value", as: Decimal.self).description, unit: try row.decode("unit"),
            valueCanonical: try row.decode("value_canonical", as: Decimal.self).description,
            notes: try row.decode("notes"), evidenceURL: try row.decode("evidence_url"), externalRef: try row.decode("external_ref"),
            status: try row.decode("status"), submittedBy: try row.decode("submitted_by"), reviewedBy: try row.decode("reviewed_by"),
            reviewComment: try row.decode("review_comment"), verifiedBy: try row.decode("verified_by"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    /// Does `organization` take part in `project`? Read through `app_project_ids()` semantics
    /// for members; admins see every participant row.
    public func participates(organization: UUID, project: UUID) async throws -> Bool {
        try await query("""
            SELECT EXISTS (SELECT 1 FROM project_participants WHERE project_id = \(project) AND organization_id = \(organization)) AS yes
            """)[0].decode("yes")
    }

    /// Stores a validated submission of the caller's organization, or reports it unchanged or
    /// conflicting by its natural key. The insert and its audit entry are one statement.
    public func submit(_ s: ValidSubmission, milestone: Milestone, caller: Caller) async throws -> SubmissionOutcome {
        let inserted = try await query("""
            WITH s AS (
                INSERT INTO submissions (milestone_id, project_id, organization_id, period_start, period_end, value, unit,
                                         value_canonical, notes, evidence_url, external_ref, submitted_by)
                VALUES (\(milestone.id), \(milestone.projectID), \(caller.organizationID), \(s.periodStart), \(s.periodEnd), \(s.value),
                        \(s.unit), \(s.valueCanonical), \(s.notes), \(s.evidenceURL), \(s.externalRef), \(caller.userID))
                ON CONFLICT (milestone_id, organization_id, period_start, period_end)
                    WHERE status IN ('submitted', 'approved', 'verified') DO NOTHING
                RETURNING *
            ), a AS (
                INSERT INTO audit_log (actor_user_id, actor_organization_id, action, entity, entity_id, data)
                SELECT \(caller.userID), \(caller.organizationID), 'submission.create', 'submission', s.id::text,
                       jsonb_build_object('milestone_id', s.milestone_id, 'period_start', s.period_start, 'period_end', s.period_end,
                                          'value', s.value::text, 'unit', s.unit)
                FROM s
            )
            SELECT \(unescaped: Self.submissionColumns) FROM s
            """)
        if let row = inserted.first { return .created(try Self.submission(row)) }
        guard let existing = try await query("""
            SELECT \(unescaped: Self.submissionColumns) FROM submissions
            WHERE milestone_id = \(milestone.id) AND organization_id = \(caller.organizationID)
              AND period_start = \(s.periodStart) AND period_end = \(s.periodEnd) AND status IN ('submitted', 'approved', 'verified')
            """).first else {
            // The conflicting row left the live states between the two statements: try again.
            throw PQError(.server, message: "serialization failure", sqlState: SQLState.serializationFailure.rawValue)
        }
        let current = try Self.submission(existing)
        let same = try existing.decode("value_canonical", as: Decimal.self) == s.valueCanonical
        return same ? .unchanged(current) : .conflict(existing: current.id)
    }

    public func submission(id: UUID, forUpdate: Bool = false) async throws -> Submission? {
        try await query("SELECT \(unescaped: Self.submissionColumns) FROM submissions WHERE id = \(id)\(unescaped: forUpdate ? " FOR UPDATE" : "")")
            .first.map(Self.submission)
    }

    /// Moves a submission along its lifecycle; the caller has checked who may.
    public func transition(_ id: UUID, _ action: SubmissionAction, comment: String?, caller: Caller) async throws -> Submission {
        let reviewer: UUID? = (action == .approve || action == .reject) ? caller.userID : nil
        let verifier: UUID? = action == .verify ? caller.userID : nil
        let row = try await query("""
            UPDATE submissions SET status = \(action.target),
                   reviewed_by = coalesce(\(reviewer), reviewed_by), reviewed_at = CASE WHEN \(reviewer) IS NULL THEN reviewed_at ELSE now() END,
                   review_comment = CASE WHEN \(reviewer) IS NULL THEN review_comment ELSE \(comment) END,
                   verified_by = coalesce(\(verifier), verified_by), verified_at = CASE WHEN \(verifier) IS NULL THEN verified_at ELSE now() END,
                   updated_at = clock_timestamp()
            WHERE id = \(id) RETURNING \(unescaped: Self.submissionColumns)
            """)[0]
        var data: [String: JSONValue] = [:]
        if let comment { data["comment"] = .string(comment) }
        try await audit("submission.\(action.rawValue)", entity: "submission", id: id.uuidString.lowercased(), data: data)
        return try Self.submission(row)
    }

    /// Submissions visible to the caller, oldest change first; the cursor is the last row's
    /// (updated_at in microseconds, id), so pages do not shift when rows are added.
    public func submissions(_ f: SubmissionFilter, after cursor: (Int64, UUID)?, limit: Int) async throws -> [(Submission, Int64)] {
        let rows = try await query("""
            SELECT \(unescaped: Self.submissionColumns) FROM submissions
            WHERE (\(f.project) IS NULL OR project_id = \(f.project))
              AND (\(f.milestone) IS NULL OR milestone_id = \(f.milestone))
              AND (\(f.organization) IS NULL OR organization_id = \(f.organization))
              AND (\(f.status) IS NULL OR status = \(f.status))
              AND (\(f.updatedAfter) IS NULL OR updated_at > \(f.updatedAfter))
              AND (\(cursor?.0) IS NULL OR (updated_at, id) > (timestamptz 'epoch' + \(cursor?.0) * interval '1 microsecond', \(cursor?.1)))
            ORDER BY updated_at, id LIMIT \(limit)
            """)
        return try rows.map { (try Self.submission($0), try $0.decode("feed_micros", as: Int64.self)) }
    }
}
