import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

/// A standard locked for a lifecycle step, with its working version.
public struct LockedStandard: Sendable {
    public var id: UUID
    public var state: StandardState
    public var workingVersionID: UUID?
    public var workingNumber: Int?
    public var latestNumber: Int
    public var reviewRound: Int
    public var issuers: [UUID]
}

/// Filters of `GET /v1/standards`.
public struct StandardFilter: Sendable {
    public var status: StandardStatus?
    public var category: StandardCategory?
    public var issuer: UUID?
    public init() {}
}

extension StoreTransaction {
    /// Creates a standard in draft with version 1; its code is the next CLC-STD-NNNN.
    public func createStandard(title: String, category: StandardCategory, issuers: [UUID], body: String, changeNote: String, caller: Caller) async throws -> UUID {
        let number: Int = try await query("UPDATE standard_code_counter SET last = last + 1 RETURNING last")[0].decode("last")
        let code = "CLC-STD-" + String(repeating: "0", count: max(0, 4 - String(number).count)) + String(number)
        let id: UUID = try await query("""
            INSERT INTO standards (code, title, category, created_by) VALUES (\(code), \(title), \(category), \(caller.userID)) RETURNING id
            """)[0].decode("id")
        try await query("INSERT INTO standard_issuers (standard_id, organization_id) SELECT \(id), unnest(\(issuers))")
        try await query("""
            INSERT INTO standard_versions (standard_id, number, body, change_note, created_by) VALUES (\(id), 1, \(body), \(changeNote), \(caller.userID))
            """)
        try await audit("standard.create", entity: "standard", id: id.uuidString.lowercased(),
                        data: ["code": .string(code), "title": .string(title), "issuers": .array(issuers.map { .string($0.uuidString.lowercased()) })])
        return id
    }

    /// The standard with its issuers, visible versions and the reviews of the version in review.
    public func standard(id: UUID, quorum: Int?) async throws -> Standard? {
        guard let row = try await query("""
            SELECT s.id, s.code, s.title, s.category, s.published_version, s.status, s.created_at, s.updated_at,
                   coalesce((SELECT array_agg(organization_id ORDER BY organization_id) FROM standard_issuers WHERE standard_id = s.id), '{}') AS issuers
            FROM standards s WHERE s.id = \(id)
            """).first else { return nil }
        let versions = try await query("""
            SELECT id, number, status, change_note, created_at, created_by, review_comment, body, review_round
            FROM standard_versions WHERE standard_id = \(id) ORDER BY number
            """)
        var list: [StandardVersion] = []
        var inReview: (UUID, Int)?
        for v in versions {
            let status: StandardVersionStatus = try v.decode("status")
            if status == .inReview { inReview = (try v.decode("id"), try v.decode("review_round")) }
            list.append(StandardVersion(
                number: try v.decode("number"), status: status, changeNote: try v.decode("change_note"), createdAt: try v.decode("created_at"),
                createdBy: try v.decode("created_by"), reviewComment: try v.decode("review_comment"), body: try v.decode("body")))
        }
        var reviews: [StandardReview] = []
        if let (versionID, round) = inReview {
            reviews = try await query("""
                SELECT reviewer_id, decision, comment, updated_at FROM standard_reviews
                WHERE standard_version_id = \(versionID) AND review_round = \(round) ORDER BY updated_at
                """).map { r in
                StandardReview(reviewerID: try r.decode("reviewer_id"), decision: try r.decode("decision"), comment: try r.decode("comment"), at: try r.decode("updated_at"))
            }
        }
        let latest = list.last
        let working = latest.flatMap { $0.status.isOpen ? $0.status : nil }
        let published: Int? = try row.decode("published_version")
        let state = StandardState(working: working, publishedVersion: published, withdrawn: try row.decode("status", as: StandardStatus.self) == .withdrawn)
        return Standard(
            id: try row.decode("id"), code: try row.decode("code"), title: try row.decode("title"), category: try row.decode("category"),
            status: state.status, issuers: try row.decode("issuers"), currentVersion: latest?.number, publishedVersion: published,
            versions: list, reviews: reviews, quorum: inReview == nil ? nil : quorum, allowedActions: state.allowedActions,
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    /// Standards visible to the caller, by code; versions and reviews are left out of lists.
    public func standards(_ f: StandardFilter, after code: String?, limit: Int) async throws -> [Standard] {
        try await query("""
            SELECT s.id, s.code, s.title, s.category, s.status, s.published_version, s.created_at, s.updated_at,
                   coalesce((SELECT array_agg(organization_id ORDER BY organization_id) FROM standard_issuers WHERE standard_id = s.id), '{}') AS issuers,
                   (SELECT max(number) FROM standard_versions v WHERE v.standard_id = s.id) AS current_version
            FROM standards s
            WHERE (\(f.status) IS NULL OR s.status = \(f.status)) AND (\(f.category) IS NULL OR s.category = \(f.category))
              AND (\(f.issuer) IS NULL OR EXISTS (SELECT 1 FROM standard_issuers i WHERE i.standard_id = s.id AND i.organization_id = \(f.issuer)))
              AND (\(code) IS NULL OR s.code > \(code))
            ORDER BY s.code LIMIT \(limit)
            """).map { row in
            Standard(
                id: try row.decode("id"), code: try row.decode("code"), title: try row.decode("title"), category: try row.decode("category"),
                status: try row.decode("status"), issuers: try row.decode("issuers"), currentVersion: try row.decode("current_version"),
                publishedVersion: try row.decode("published_version"), versions: [], reviews: [], quorum: nil, allowedActions: [],
                createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
        }
    }

    /// Locks the standard row for a lifecycle step (the lock serialises concurrent reviews).
    /// Nil when the caller cannot see it or may not update it.
    public func lockStandard(id: UUID) async throws -> LockedStandard? {
        guard let s = try await query("SELECT published_version, status FROM standards WHERE id = \(id) FOR UPDATE").first else { return nil }
        let latest = try await query("SELECT id, number, status, review_round FROM standard_versions WHERE standard_id = \(id) ORDER BY number DESC LIMIT 1")[0]
        let status: StandardVersionStatus = try latest.decode("status")
        let issuers: [UUID] = try await query("SELECT organization_id FROM standard_issuers WHERE standard_id = \(id)").map { try $0.decode("organization_id") }
        return LockedStandard(
            id: id,
            state: StandardState(working: status.isOpen ? status : nil, publishedVersion: try s.decode("published_version"),
                                 withdrawn: try s.decode("status", as: StandardStatus.self) == .withdrawn),
            workingVersionID: status.isOpen ? try latest.decode("id") : nil, workingNumber: status.isOpen ? try latest.decode("number") : nil,
            latestNumber: try latest.decode("number"), reviewRound: try latest.decode("review_round"), issuers: issuers)
    }

    func setStandardStatus(_ id: UUID) async throws {
        guard let locked = try await lockStandard(id: id) else { return }
        try await query("UPDATE standards SET status = \(locked.state.status), updated_at = now() WHERE id = \(id)")
    }

    /// Revises the open draft in place, or starts the next version after a published one.
    public func saveDraft(_ s: LockedStandard, body: String, changeNote: String, caller: Caller) async throws -> Int {
        let number: Int
        if let draft = s.workingVersionID {
            try await query("UPDATE standard_versions SET body = \(body), change_note = \(changeNote), updated_at = now() WHERE id = \(draft)")
            number = s.workingNumber!
        } else {
            number = s.latestNumber + 1
            try await query("""
                INSERT INTO standard_versions (standard_id, number, body, change_note, created_by) VALUES (\(s.id), \(number), \(body), \(changeNote), \(caller.userID))
                """)
        }
        try await setStandardStatus(s.id)
        try await audit("standard.draft", entity: "standard", id: s.id.uuidString.lowercased(), data: ["version": .number(String(number))])
        return number
    }

    public func submitStandard(_ s: LockedStandard) async throws {
        try await query("""
            UPDATE standard_versions SET status = 'in_review', review_round = review_round + 1, review_comment = NULL, updated_at = now()
            WHERE id = \(s.workingVersionID!)
            """)
        try await setStandardStatus(s.id)
        try await audit("standard.submit", entity: "standard", id: s.id.uuidString.lowercased(), data: ["version": .number(String(s.workingNumber!))])
    }

    /// Records the caller's ballot (a second one replaces the first) and applies the outcome.
    public func castReview(_ s: LockedStandard, decision: ReviewVerdict, comment: String?, configuredQuorum: Int, caller: Caller) async throws -> ReviewBallot.Outcome {
        let version = s.workingVersionID!
        let replaced = try await query("""
            INSERT INTO standard_reviews (standard_version_id, review_round, reviewer_id, decision, comment)
            VALUES (\(version), \(s.reviewRound), \(caller.userID), \(decision), \(comment))
            ON CONFLICT (standard_version_id, review_round, reviewer_id)
            DO UPDATE SET decision = EXCLUDED.decision, comment = EXCLUDED.comment, updated_at = now()
            RETURNING (xmax <> 0) AS replaced
            """)[0].decode("replaced", as: Bool.self)
        try await audit(replaced ? "standard.review_replace" : "standard.review", entity: "standard", id: s.id.uuidString.lowercased(),
                        data: ["version": .number(String(s.workingNumber!)), "decision": .string(decision.rawValue)].merging(comment.map { ["comment": .string($0)] } ?? [:]) { a, _ in a })
        // Ballots of admins who are no longer active do not count, nor do they count for quorum.
        let row = try await query("""
            SELECT (SELECT count(*) FROM users WHERE role = 'coalition_admin' AND status = 'active') AS admins,
                   count(*) FILTER (WHERE r.decision = 'approve') AS approvals,
                   count(*) FILTER (WHERE r.decision = 'reject') AS rejections
            FROM standard_reviews r JOIN users u ON u.id = r.reviewer_id AND u.status = 'active' AND u.role = 'coalition_admin'
            WHERE r.standard_version_id = \(version) AND r.review_round = \(s.reviewRound)
            """)[0]
        let quorum = ReviewBallot.quorum(configured: configuredQuorum, activeAdmins: try row.decode("admins"))
        let outcome = ReviewBallot.outcome(approvals: try row.decode("approvals"), rejections: try row.decode("rejections"), quorum: quorum)
        switch outcome {
        case .pending: break
        case .approved:
            try await query("UPDATE standard_versions SET status = 'approved', updated_at = now() WHERE id = \(version)")
            try await audit("standard.approve", entity: "standard", id: s.id.uuidString.lowercased(), data: ["version": .number(String(s.workingNumber!))])
        case .rejected:
            try await query("UPDATE standard_versions SET status = 'draft', review_comment = \(comment), updated_at = now() WHERE id = \(version)")
            try await audit("standard.reject", entity: "standard", id: s.id.uuidString.lowercased(), data: ["version": .number(String(s.workingNumber!))])
        }
        try await setStandardStatus(s.id)
        return outcome
    }

    public func publishStandard(_ s: LockedStandard) async throws {
        try await query("UPDATE standard_versions SET status = 'superseded', updated_at = now() WHERE standard_id = \(s.id) AND status = 'published'")
        try await query("UPDATE standard_versions SET status = 'published', updated_at = now() WHERE id = \(s.workingVersionID!)")
        try await query("UPDATE standards SET published_version = \(s.workingNumber!), updated_at = now() WHERE id = \(s.id)")
        try await setStandardStatus(s.id)
        try await audit("standard.publish", entity: "standard", id: s.id.uuidString.lowercased(), data: ["version": .number(String(s.workingNumber!))])
    }

    public func withdrawStandard(_ s: LockedStandard) async throws {
        try await query("UPDATE standard_versions SET status = 'withdrawn', updated_at = now() WHERE standard_id = \(s.id) AND status = 'published'")
        try await query("UPDATE standards SET status = 'withdrawn', updated_at = now() WHERE id = \(s.id)")
        try await audit("standard.withdraw", entity: "standard", id: s.id.uuidString.lowercased())
    }

    // MARK: adoptions

    static func adoption(_ row: Row) throws -> Adoption {
        Adoption(
            standardID: try row.decode("standard_id"), versionNumber: try row.decode("version_number"),
            organizationID: try row.decode("organization_id"), adoptedOn: try row.decode("adopted_on"),
            evidenceURL: try row.decode("evidence_url"), createdAt: try row.decode("created_at"))
    }

    /// The status of a version of a visible standard, or nil when there is no such version.
    public func versionStatus(standard: UUID, number: Int) async throws -> StandardVersionStatus? {
        try await query("SELECT status FROM standard_versions WHERE standard_id = \(standard) AND number = \(number)")
            .first.map { try $0.decode("status") }
    }

    /// Declares an adoption; nil when the organization adopted that version already.
    public func adopt(standard: UUID, version: Int, adoptedOn: CalendarDate, evidenceURL: String?, caller: Caller) async throws -> Adoption? {
        guard let row = try await query("""
            INSERT INTO adoptions (standard_id, version_number, organization_id, adopted_on, evidence_url, created_by)
            VALUES (\(standard), \(version), \(caller.organizationID), \(adoptedOn), \(evidenceURL), \(caller.userID))
            ON CONFLICT DO NOTHING RETURNING *
            """).first else { return nil }
        try await audit("standard.adopt", entity: "standard", id: standard.uuidString.lowercased(),
                        data: ["version": .number(String(version)), "organization_id": .string(caller.organizationID.uuidString.lowercased())])
        return try Self.adoption(row)
    }

    public func adoptions(standard: UUID?, organization: UUID?) async throws -> [Adoption] {
        try await query("""
            SELECT * FROM adoptions WHERE (\(standard) IS NULL OR standard_id = \(standard)) AND (\(organization) IS NULL OR organization_id = \(organization))
            ORDER BY adopted_on, organization_id
            """).map(Self.adoption)
    }
}

extension StoreTransaction {
    /// Whether an organization the caller cannot read is an active member or partner (members
    /// may name co-issuers they cannot otherwise see).
    public func isIssuableOrganization(_ id: UUID) async throws -> Bool {
        try await query("SELECT issuable_organization(\(id)) AS ok")[0].decode("ok")
    }
}
