/// The coalition's words (SPEC §1–§3) as types: what the wire carries, the store keeps and the
/// domain decides on. Each raw value is the exact spelling of the API and of the database.

/// The roles of SPEC §2. Anonymous callers have no role.
public enum Role: String, VocabularyWord {
    case coalitionAdmin = "coalition_admin"
    case auditor
    case memberAdmin = "member_admin"
    case memberEditor = "member_editor"
    case memberViewer = "member_viewer"
}

/// Kinds of organization: the secretariat runs the coalition, members report progress,
/// partners (a standards institute, say) co-issue standards but do not report.
public enum OrganizationKind: String, VocabularyWord {
    case secretariat, member, partner
}

public enum OrganizationStatus: String, VocabularyWord {
    case active, suspended, withdrawn
}

public enum UserStatus: String, VocabularyWord {
    case active, disabled
}

/// What an API token may do: `read` tokens get 403 on every mutation.
public enum TokenScope: String, VocabularyWord, Comparable {
    case read, write
    public static func < (a: TokenScope, b: TokenScope) -> Bool { a.rawValue < b.rawValue }
}

/// A token made through `POST /v1/tokens`, or the session a login opened.
public enum TokenKind: String, VocabularyWord {
    /// `api`: made with POST /v1/tokens; `session`: POST /v1/auth/login; `console`: a login in
    /// the web console, whose secret lives only in its cookie and which the API refuses.
    case api, session, console
}

/// How a metric's submissions combine into progress.
public enum Aggregation: String, VocabularyWord {
    /// Quantities that add up: tonnes recycled, units sold.
    case sum
    /// A state, not a flow: the most recent period's value (share of clean electricity).
    case latest
    /// The average of the submitted values.
    case mean
}

public enum ProjectCategory: String, VocabularyWord {
    case materials, logistics, packaging, awareness, energy, other
}

public enum ProjectStatus: String, VocabularyWord {
    case proposed, active, completed, cancelled
}

public enum MilestoneStatus: String, VocabularyWord {
    case open, achieved, missed
}

/// A submission's lifecycle: submitted → approved | rejected | withdrawn; approved → verified.
public enum SubmissionStatus: String, VocabularyWord {
    case submitted, approved, rejected, withdrawn, verified
}

/// A milestone's forecast in a progress report.
public enum ForecastStatus: String, VocabularyWord {
    case achieved
    case onTrack = "on_track"
    case behind, missed
}

public enum StandardCategory: String, VocabularyWord {
    case product, packaging, logistics, materials, energy, other
}

/// A standard's own status, derived from its versions.
public enum StandardStatus: String, VocabularyWord {
    case draft
    case inReview = "in_review"
    case approved, published, withdrawn
}

/// Statuses of a standard version.
public enum StandardVersionStatus: String, VocabularyWord {
    case draft
    case inReview = "in_review"
    case approved, published, superseded, withdrawn
}

/// What can be done to a standard.
public enum StandardAction: String, VocabularyWord {
    case newVersion = "new_version"
    case submit, review, publish, withdraw
}

/// A reviewer's verdict on a standard's version in review, or on a submission.
public enum ReviewVerdict: String, VocabularyWord {
    case approve, reject
}

/// A word of the vocabulary: it travels, is stored and is printed as its spelling.
public protocol VocabularyWord: RawRepresentable, CaseIterable, Codable, Sendable, Hashable, CustomStringConvertible where RawValue == String {}

extension VocabularyWord {
    public var description: String { rawValue }
}

extension CaseIterable where Self: RawRepresentable, RawValue == String {
    /// "a, b, c": the allowed spellings, for messages that name them.
    public static var spellings: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// How report totals are grouped in time.
public enum ReportGrouping: String, VocabularyWord {
    case year, quarter
}
