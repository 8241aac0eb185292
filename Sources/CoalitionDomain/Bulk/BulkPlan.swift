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

/// The plan of one batch (SPEC §4), decided without the database as the rows arrive: every
/// row goes through the same `SubmissionRules` as a single submission, against the project the
/// store resolved for its code; rows of another organization, unknown projects or milestones,
/// rows that cannot be read, and a second row with the same natural key and another value are
/// rejected with their line. Valid rows come back as candidates for the store, one at a time,
/// so that nothing holds the whole file. The store then tries the candidates; `settle` turns
/// what it did into the answer and says whether to keep it.
public struct BulkPlan: Sendable {
    public let organizationSlug: String
    public let today: CalendarDate
    public let options: BulkOptions
    /// Row errors reported at most; `rejected` still counts every rejected row.
    public let maxErrors: Int

    public private(set) var errors: [BulkReport.RowError] = []
    public private(set) var omittedErrors = 0
    public private(set) var rejectedLines: Set<Int> = []
    /// Valid rows handed to the store.
    public private(set) var candidates = 0
    /// Rows that repeat an earlier row of the batch exactly.
    public private(set) var repeatedRows = 0
    private var seen: [NaturalKey: (line: Int, canonical: Decimal)] = [:]

    struct NaturalKey: Hashable {
        var milestone: UUID
        var start: CalendarDate
        var end: CalendarDate
    }

    public init(organizationSlug: String, today: CalendarDate, options: BulkOptions, maxErrors: Int = BulkLimits.reportedErrors) {
        self.organizationSlug = organizationSlug
        self.today = today
        self.options = options
        self.maxErrors = maxErrors
    }

    /// Judges one row against `project`, the project its code names as the caller sees it
    /// (nil: none). Returns the candidate to store when the row is valid and new in the batch.
    public mutating func judge(_ row: BulkRow, project: BulkProject?) -> BulkCandidate? {
        var failed = false
        func reject(_ field: String, _ message: String) {
            failed = true
            record(row.line, field, message)
        }
        for column in BulkColumns.requiredInOrder where row.fields[column] == nil { reject(column, "is required") }
        if let organization = row.fields["organization"], organization != organizationSlug {
            reject("organization", "must be your organization (\(organizationSlug)); members submit their own progress")
        }
        guard let code = row.fields["project"], let key = row.fields["milestone"] else { return nil }
        guard let project else {
            reject("project", "no project with code \(code.shown) is visible to you")
            return nil
        }
        guard project.participates else {
            reject("project", "your organization does not take part in \(code.shown)")
            return nil
        }
        guard let milestone = project.milestones[key] else {
            reject("milestone", "project \(code.shown) has no milestone \(key.shown)")
            return nil
        }
        let draft = SubmissionDraft(
            periodStart: row.fields["period_start"], periodEnd: row.fields["period_end"], value: row.fields["value"],
            unit: row.fields["unit"], notes: row.fields["notes"], evidenceURL: row.fields["evidence_url"],
            externalRef: row.fields["external_ref"])
        switch SubmissionRules.validate(draft, metricUnit: milestone.metricUnit, aggregation: milestone.aggregation, today: today) {
        case .failure(let invalid):
            for e in invalid.errors { reject(e.field, e.message) }
            return nil
        case .success(let valid):
            guard !failed else { return nil }
            let naturalKey = NaturalKey(milestone: milestone.id, start: valid.periodStart, end: valid.periodEnd)
            if let earlier = seen[naturalKey] {
                if earlier.canonical == valid.valueCanonical {
                    repeatedRows += 1
                } else {
                    reject("value", "line \(earlier.line) has the same milestone and period with another value")
                }
                return nil
            }
            seen[naturalKey] = (row.line, valid.valueCanonical)
            candidates += 1
            return BulkCandidate(line: row.line, milestoneID: milestone.id, projectID: milestone.projectID, submission: valid)
        }
    }

    /// A record that is not a row (broken CSV quoting, the wrong number of fields, a line that
    /// is not a JSON object, a line over the length limit): rejected with its line.
    public mutating func reject(line: Int, _ problem: BulkRecordProblem) {
        record(line, problem.field ?? "_row", problem.description)
    }

    /// A row refused for a reason of the request (too many projects in one file, say).
    public mutating func reject(line: Int, field: String, _ message: String) {
        record(line, field, message)
    }

    private mutating func record(_ line: Int, _ field: String, _ message: String) {
        rejectedLines.insert(line)
        if errors.count < maxErrors { errors.append(.init(line: line, field: field, message: message)) } else { omittedErrors += 1 }
    }

    /// Whether the store should try the candidates: not when there are none, nor when an
    /// all-or-nothing batch already has a rejected row.
    public var storesAnything: Bool { candidates > 0 && !(options.atomic && !rejectedLines.isEmpty) }

    /// The answer once the store tried the candidates (`nil`: it was not asked), and whether
    /// what it stored is kept: not for a dry run, nor for an all-or-nothing batch in which a
    /// row conflicted with a stored submission.
    public func settle(_ outcome: BulkStoreOutcome?) -> (report: BulkReport, keep: Bool) {
        var errors = self.errors
        var omitted = omittedErrors
        var rejected = rejectedLines
        for conflict in outcome?.conflicts ?? [] {
            rejected.insert(conflict.line)
            guard errors.count < maxErrors else {
                omitted += 1
                continue
            }
            errors.append(.init(
                line: conflict.line, field: "value",
                message: "differs from stored submission \(conflict.existing.uuidString.lowercased()); withdraw it or ask for its rejection first"))
        }
        errors.sort { ($0.line, $0.field) < ($1.line, $1.field) }
        if options.atomic && !rejected.isEmpty {
            return (BulkReport(accepted: 0, unchanged: 0, rejected: rejected.count, errors: errors, stored: false, errorsOmitted: omitted), false)
        }
        let report = BulkReport(
            accepted: outcome?.accepted.count ?? 0, unchanged: (outcome?.unchanged.count ?? 0) + repeatedRows,
            rejected: rejected.count, errors: errors, stored: !options.dryRun, errorsOmitted: omitted)
        return (report, !options.dryRun)
    }
}
