import Foundation

/// A version as listed on a standard.
public struct StandardVersion: Codable, Sendable, Equatable {
    public var number: Int
    public var status: StandardVersionStatus
    public var changeNote: String
    public var createdAt: Date
    public var createdBy: UUID
    public var reviewComment: String?
    public var body: String?

    enum CodingKeys: String, CodingKey {
        case number, status, body
        case changeNote = "change_note"
        case createdAt = "created_at"
        case createdBy = "created_by"
        case reviewComment = "review_comment"
    }

    public init(number: Int, status: StandardVersionStatus, changeNote: String, createdAt: Date, createdBy: UUID, reviewComment: String?, body: String?) {
        self.number = number
        self.status = status
        self.changeNote = changeNote
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.reviewComment = reviewComment
        self.body = body
    }
}

/// One admin's ballot on the version in review.
public struct StandardReview: Codable, Sendable, Equatable {
    public var reviewerID: UUID
    public var decision: ReviewVerdict
    public var comment: String?
    public var at: Date

    enum CodingKeys: String, CodingKey {
        case decision, comment, at
        case reviewerID = "reviewer_id"
    }

    public init(reviewerID: UUID, decision: ReviewVerdict, comment: String?, at: Date) {
        self.reviewerID = reviewerID
        self.decision = decision
        self.comment = comment
        self.at = at
    }
}

/// A shared standard (SPEC §1, §3).
public struct Standard: Codable, Sendable, Equatable {
    public var id: UUID
    public var code: String
    public var title: String
    public var category: StandardCategory
    public var status: StandardStatus
    public var issuers: [UUID]
    public var currentVersion: Int?
    public var publishedVersion: Int?
    public var versions: [StandardVersion]
    public var reviews: [StandardReview]
    public var quorum: Int?
    public var allowedActions: [StandardAction]
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, code, title, category, status, issuers, versions, reviews, quorum
        case currentVersion = "current_version"
        case publishedVersion = "published_version"
        case allowedActions = "allowed_actions"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(id: UUID, code: String, title: String, category: StandardCategory, status: StandardStatus, issuers: [UUID], currentVersion: Int?, publishedVersion: Int?, versions: [StandardVersion], reviews: [StandardReview], quorum: Int?, allowedActions: [StandardAction], createdAt: Date, updatedAt: Date) {
        self.id = id
        self.code = code
        self.title = title
        self.category = category
        self.status = status
        self.issuers = issuers
        self.currentVersion = currentVersion
        self.publishedVersion = publishedVersion
        self.versions = versions
        self.reviews = reviews
        self.quorum = quorum
        self.allowedActions = allowedActions
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(code, forKey: .code)
        try c.encode(title, forKey: .title)
        try c.encode(category, forKey: .category)
        try c.encode(status, forKey: .status)
        try c.encode(issuers, forKey: .issuers)
        try c.encode(currentVersion, forKey: .currentVersion)
        try c.encode(publishedVersion, forKey: .publishedVersion)
        try c.encode(versions, forKey: .versions)
        try c.encode(reviews, forKey: .reviews)
        try c.encodeIfPresent(quorum, forKey: .quorum)
        try c.encode(allowedActions, forKey: .allowedActions)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
    }
}

/// A member's declaration that it applies a published version.
public struct Adoption: Codable, Sendable, Equatable {
    public var standardID: UUID
    public var versionNumber: Int
    public var organizationID: UUID
    public var adoptedOn: CalendarDate
    public var evidenceURL: String?
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case standardID = "standard_id"
        case versionNumber = "version_number"
        case organizationID = "organization_id"
        case adoptedOn = "adopted_on"
        case evidenceURL = "evidence_url"
        case createdAt = "created_at"
    }

    public init(standardID: UUID, versionNumber: Int, organizationID: UUID, adoptedOn: CalendarDate, evidenceURL: String?, createdAt: Date) {
        self.standardID = standardID
        self.versionNumber = versionNumber
        self.organizationID = organizationID
        self.adoptedOn = adoptedOn
        self.evidenceURL = evidenceURL
        self.createdAt = createdAt
    }
}
