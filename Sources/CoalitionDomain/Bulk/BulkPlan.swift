import CoalitionModels
import Foundation

/// A milestone as a bulk batch refers to it: by key within its project.
public struct BulkMilestone: Sendable, Equatable {
    public var id: UUID
    public var projectID: UUID
    /// The canonical unit of the milestone's metric, and how its submissions combine.
    public var metricUnit: String
    public var aggregation: Aggregation
    public init(id: UUID, projectID: UUID, metricUnit: String, aggregation: Aggregation) {
        self.id = id
        self.projectID = projectID
        self.metricUnit = metricUnit
        self.aggregation = aggregation
    }
}

/// A project a batch names by code, as the caller sees it.
public struct BulkProject: Sendable, Equatable {
    public var id: UUID
    /// Whether the caller's organization takes part in it.
    public var participates: Bool
    public var milestones: [String: BulkMilestone]
    public init(id: UUID, participates: Bool, milestones: [String: BulkMilestone]) {
        self.id = id
        self.participates = participates
        self.milestones = milestones
    }
}

/// `?dry_run=` and `?atomic=` of a bulk upload.
public struct BulkOptions: Sendable, Equatable {
    /// Store nothing; report as if it had.
    public var dryRun = false
    /// Store nothing unless every row is valid.
    public var atomic = false
    public init(dryRun: Bool = false, atomic: Bool = false) {
        self.dryRun = dryRun
        self.atomic = atomic
    }
}

/// A valid row of a batch, ready to store.
public struct BulkCandidate: Sendable, Equatable {
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

/// What storing the candidates did, by line.
public struct BulkStoreOutcome: Sendable, Equatable {
    public var accepted: [Int] = []
    public var unchanged: [Int] = []
    /// Lines whose natural key holds another value in a live submission, with that submission.
    public var conflicts: [BulkConflict] = []
    public init(accepted: [Int] = [], unchanged: [Int] = [], conflicts: [BulkConflict] = []) {
        self.accepted = accepted
        self.unchanged = unchanged
        self.conflicts = conflicts
    }
}

public struct BulkConflict: Sendable, Equatable {
    public var line: Int
    public var existing: UUID
    public init(line: Int, existing: UUID) {
        self.line = line
        self.existing = existing
    }
}

/// The plan of one batch (SPEC §4), decided without the database: every row goes through the
/// same `SubmissionRules` as a single submission, against the projects and milestones the store
/// resolved once for the batch; rows of another organization, unknown projects or milestones,
/// and a second row with the same natural key and another value are rejected with their line.
/// The store then tries the candidates; `settle` turns what it did into the answer and says
/// whether to keep it.
public struct BulkPlan: Sendable {
    public let options: BulkOptions
    /// Rows to store, in file order.
    public private(set) var candidates: [BulkCandidate] = []
    public private(set) var errors: [BulkReport.RowError] = []
    public private(set) var rejectedLines: Set<Int> = []
    /// Rows that repeat an earlier row of the batch exactly.
    public private(set) var repeatedRows = 0

    public init(
        rows: [BulkRow], organizationSlug: String, projects: [String: BulkProject], today: CalendarDate, options: BulkOptions
    ) {
        self.options = options
        var seen: [String: (line: Int, canonical: Decimal)] = [:]
        for row in rows {
            let before = errors.count
            for column in BulkColumns.required.sorted() where row.fields[column] == nil { reject(row.line, column, "is required") }
            if let organization = row.fields["organization"], organization != organizationSlug {
                reject(row.line, "organization", "must be your organization (\(organizationSlug)); members submit their own progress")
            }
            guard let code = row.fields["project"], let key = row.fields["milestone"] else { continue }
            guard let project = projects[code] else {
                reject(row.line, "project", "no project with code \(code) is visible to you")
                continue
            }
            guard project.participates else {
                reject(row.line, "project", "your organization does not take part in \(code)")
                continue
            }
            guard let milestone = project.milestones[key] else {
                reject(row.line, "milestone", "project \(code) has no milestone \(key)")
                continue
            }
            let draft = SubmissionDraft(
                periodStart: row.fields["period_start"], periodEnd: row.fields["period_end"], value: row.fields["value"],
                unit: row.fields["unit"], notes: row.fields["notes"], evidenceURL: row.fields["evidence_url"],
                externalRef: row.fields["external_ref"])
            switch SubmissionRules.validate(draft, metricUnit: milestone.metricUnit, aggregation: milestone.aggregation, today: today) {
            case .failure(let invalid):
                for e in invalid.errors { reject(row.line, e.field, e.message) }
            case .success(let valid):
                guard errors.count == before else { continue }
                let naturalKey = "\(milestone.id)|\(valid.periodStart)|\(valid.periodEnd)"
                if let earlier = seen[naturalKey] {
                    if earlier.canonical == valid.valueCanonical {
                        repeatedRows += 1
                    } else {
                        reject(row.line, "value", "line \(earlier.line) has the same milestone and period with another value")
                    }
                    continue
                }
                seen[naturalKey] = (row.line, valid.valueCanonical)
                candidates.append(BulkCandidate(line: row.line, milestoneID: milestone.id, projectID: milestone.projectID, submission: valid))
            }
        }
    }

    private mutating func reject(_ line: Int, _ field: String, _ message: String) {
        errors.append(.init(line: line, field: field, message: message))
        rejectedLines.insert(line)
    }

    /// Whether the store should try the candidates: not when there are none, nor when an
    /// all-or-nothing batch already has a rejected row.
    public var storesAnything: Bool { !candidates.isEmpty && !(options.atomic && !errors.isEmpty) }

    /// The answer once the store tried the candidates (`nil`: it was not asked), and whether
    /// what it stored is kept: not for a dry run, nor for an all-or-nothing batch in which a
    /// row conflicted with a stored submission.
    public func settle(_ outcome: BulkStoreOutcome?) -> (report: BulkReport, keep: Bool) {
        var errors = self.errors
        var rejected = rejectedLines
        for conflict in outcome?.conflicts ?? [] {
            errors.append(.init(
                line: conflict.line, field: "value",
                message: "differs from stored submission \(conflict.existing.uuidString.lowercased()); withdraw it or ask for its rejection first"))
            rejected.insert(conflict.line)
        }
        errors.sort { ($0.line, $0.field) < ($1.line, $1.field) }
        if options.atomic && !errors.isEmpty {
            return (BulkReport(accepted: 0, unchanged: 0, rejected: rejected.count, errors: errors, stored: false), false)
        }
        let report = BulkReport(
            accepted: outcome?.accepted.count ?? 0, unchanged: (outcome?.unchanged.count ?? 0) + repeatedRows,
            rejected: rejected.count, errors: errors, stored: !options.dryRun)
        return (report, !options.dryRun)
    }
}
