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

/// What storing a submission to a milestone depends on (`submissionContext`).
public struct SubmissionContext: Sendable {
    public var milestone: Milestone
    public var aggregation: Aggregation
    public var participates: Bool
    public var organizationKind: OrganizationKind?

    public var facts: MilestoneFacts {
        MilestoneFacts(projectID: milestone.projectID, unit: milestone.unit, aggregation: aggregation)
    }
}

/// What a milestone's submissions are judged by and that never changes once the milestone
/// exists: its project, and its metric's unit and aggregation (a milestone's metric is fixed
/// at creation, and the metric catalogue changes only by migration). Known facts let a
/// submission be judged before anything is sent (`submitKnown`).
public struct MilestoneFacts: Sendable, Equatable {
    public var projectID: UUID
    public var unit: String
    public var aggregation: Aggregation

    public init(projectID: UUID, unit: String, aggregation: Aggregation) {
        self.projectID = projectID
        self.unit = unit
        self.aggregation = aggregation
    }
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

    /// What storing a submission to `milestone` depends on, read in one statement (the first
    /// of the transaction, so it travels with BEGIN): the milestone, its metric's unit and
    /// aggregation, whether the caller's organization takes part in its project, and that
    /// organization's kind (nil when the caller cannot see it). Nil when the milestone is not
    /// visible to the caller.
    public func submissionContext(milestone id: UUID, organization: UUID) async throws -> SubmissionContext? {
        guard let row = try await query("""
            SELECT m.id, m.project_id, m.key, m.title, m.metric, mt.unit, mt.aggregation, m.target_value, m.due_on, m.status,
                   EXISTS (SELECT 1 FROM project_participants pp WHERE pp.project_id = m.project_id AND pp.organization_id = \(organization)) AS participates,
                   (SELECT o.kind FROM organizations o WHERE o.id = \(organization)) AS organization_kind
            FROM milestones m JOIN metrics mt ON mt.code = m.metric WHERE m.id = \(id)
            """).first else { return nil }
        return SubmissionContext(
            milestone: try Self.milestone(row), aggregation: try row.decode("aggregation"), participates: try row.decode("participates"),
            organizationKind: try row.decode("organization_kind"))
    }

    /// Stores a submission judged on known `facts` in one statement, which also checks what the
    /// policy allowed it on: the milestone is visible to the caller (row-level security), its
    /// facts are still these, the caller's organization takes part in its project and is a
    /// member. The first and last statement of a transaction, so BEGIN, the caller and COMMIT
    /// travel in its flight: one round trip. Nil when nothing was stored (one of those does not
    /// hold, or a live submission has the same natural key): the caller then reads the
    /// context and decides as usual (`submissionContext`, `submit`).
    public func submitKnown(_ s: ValidSubmission, milestone id: UUID, facts: MilestoneFacts, caller: Caller) async throws -> Submission? {
        try await insert(s, milestone: id, caller: caller, checking: facts, final: true).first.map(Self.submission)
    }

    /// Stores a validated submission of the caller's organization, or reports it unchanged or
    /// conflicting by its natural key. The insert and its audit entry are one statement.
    /// `final`: the insert is the transaction's last statement (`finalQuery`), so that a new
    /// submission costs one flight, with the COMMIT.
    public func submit(_ s: ValidSubmission, milestone: Milestone, caller: Caller, final: Bool = false) async throws -> SubmissionOutcome {
        let inserted = try await insert(s, milestone: milestone.id, caller: caller, checking: nil, final: final)
        if let row = inserted.first { return .created(try Self.submission(row)) }
        let existingRow: SQL = """
            SELECT \(unescaped: Self.submissionColumns) FROM submissions
            WHERE milestone_id = \(milestone.id) AND organization_id = \(caller.organizationID)
              AND period_start = \(s.periodStart) AND period_end = \(s.periodEnd) AND status IN ('submitted', 'approved', 'verified')
            """
        // After a concluding insert this is a transaction of its own (one more flight).
        let existing = try await continuing { tx in final ? try await tx.finalQuery(existingRow).first : try await tx.query(existingRow).first }
        guard let existing else {
            // The conflicting row left the live states between the two statements: try again.
            throw PQError(.server, message: "serialization failure", sqlState: SQLState.serializationFailure.rawValue)
        }
        let current = try Self.submission(existing)
        let same = try existing.decode("value_canonical", as: Decimal.self) == s.valueCanonical
        return same ? .unchanged(current) : .conflict(existing: current.id)
    }

    /// The insert of a submission with its audit entry, one statement. With `facts` it stores
    /// only when the policy's facts hold (`submitKnown`); without, the caller has read and
    /// judged them in this transaction.
    private func insert(_ s: ValidSubmission, milestone id: UUID, caller: Caller, checking facts: MilestoneFacts?, final: Bool) async throws -> QueryResult {
        let sql: SQL = """
            WITH c AS (
                SELECT m.id, m.project_id FROM milestones m JOIN metrics mt ON mt.code = m.metric
                WHERE m.id = \(id)
                  AND (\(facts == nil) OR (m.project_id = \(facts?.projectID) AND mt.unit = \(facts?.unit) AND mt.aggregation = \(facts?.aggregation)
                       AND EXISTS (SELECT 1 FROM project_participants pp WHERE pp.project_id = m.project_id AND pp.organization_id = \(caller.organizationID))
                       AND (SELECT o.kind FROM organizations o WHERE o.id = \(caller.organizationID)) = 'member'))
            ), s AS (
                INSERT INTO submissions (milestone_id, project_id, organization_id, period_start, period_end, value, unit,
                                         value_canonical, notes, evidence_url, external_ref, submitted_by)
                SELECT c.id, c.project_id, \(caller.organizationID), \(s.periodStart), \(s.periodEnd), \(s.value),
                       \(s.unit), \(s.valueCanonical), \(s.notes), \(s.evidenceURL), \(s.externalRef), \(caller.userID)
                FROM c
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
            """
        return final ? try await finalQuery(sql) : try await query(sql)
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
