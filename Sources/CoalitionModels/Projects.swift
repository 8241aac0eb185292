import Foundation

/// A metric of the catalogue.
public struct Metric: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    public var unit: String
    public var aggregation: Aggregation
    public var units: [String]
    public init(code: String, name: String, unit: String, aggregation: Aggregation, units: [String]) {
        self.code = code
        self.name = name
        self.unit = unit
        self.aggregation = aggregation
        self.units = units
    }
}

/// A joint project (SPEC §1).
public struct Project: Codable, Sendable, Equatable {
    public var id: UUID
    public var code: String
    public var title: String
    public var description: String
    public var category: ProjectCategory
    public var status: ProjectStatus
    public var leadOrganizationID: UUID
    public var participants: [UUID]
    public var startsOn: CalendarDate
    public var endsOn: CalendarDate
    public var sdgs: [Int]
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, code, title, description, category, status, participants, sdgs
        case leadOrganizationID = "lead_organization_id"
        case startsOn = "starts_on"
        case endsOn = "ends_on"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(id: UUID, code: String, title: String, description: String, category: ProjectCategory, status: ProjectStatus, leadOrganizationID: UUID, participants: [UUID], startsOn: CalendarDate, endsOn: CalendarDate, sdgs: [Int], createdAt: Date, updatedAt: Date) {
        self.id = id
        self.code = code
        self.title = title
        self.description = description
        self.category = category
        self.status = status
        self.leadOrganizationID = leadOrganizationID
        self.participants = participants
        self.startsOn = startsOn
        self.endsOn = endsOn
        self.sdgs = sdgs
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A milestone of a project; `target_value` is a decimal string.
public struct Milestone: Codable, Sendable, Equatable {
    public var id: UUID
    public var projectID: UUID
    public var key: String
    public var title: String
    public var metric: String
    public var unit: String
    public var targetValue: String
    public var dueOn: CalendarDate
    public var status: MilestoneStatus

    enum CodingKeys: String, CodingKey {
        case id, key, title, metric, unit, status
        case projectID = "project_id"
        case targetValue = "target_value"
        case dueOn = "due_on"
    }

    public init(id: UUID, projectID: UUID, key: String, title: String, metric: String, unit: String, targetValue: String, dueOn: CalendarDate, status: MilestoneStatus) {
        self.id = id
        self.projectID = projectID
        self.key = key
        self.title = title
        self.metric = metric
        self.unit = unit
        self.targetValue = targetValue
        self.dueOn = dueOn
        self.status = status
    }
}

/// A progress report of one organization for one milestone and period.
public struct Submission: Codable, Sendable, Equatable {
    public var id: UUID
    public var milestoneID: UUID
    public var projectID: UUID
    public var organizationID: UUID
    public var periodStart: CalendarDate
    public var periodEnd: CalendarDate
    public var value: String
    public var unit: String
    public var valueCanonical: String
    public var notes: String?
    public var evidenceURL: String?
    public var externalRef: String?
    public var status: SubmissionStatus
    public var submittedBy: UUID
    public var reviewedBy: UUID?
    public var reviewComment: String?
    public var verifiedBy: UUID?
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, value, unit, notes, status
        case milestoneID = "milestone_id"
        case projectID = "project_id"
        case organizationID = "organization_id"
        case periodStart = "period_start"
        case periodEnd = "period_end"
        case valueCanonical = "value_canonical"
        case evidenceURL = "evidence_url"
        case externalRef = "external_ref"
        case submittedBy = "submitted_by"
        case reviewedBy = "reviewed_by"
        case reviewComment = "review_comment"
        case verifiedBy = "verified_by"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(id: UUID, milestoneID: UUID, projectID: UUID, organizationID: UUID, periodStart: CalendarDate, periodEnd: CalendarDate, value: String, unit: String, valueCanonical: String, notes: String?, evidenceURL: String?, externalRef: String?, status: SubmissionStatus, submittedBy: UUID, reviewedBy: UUID?, reviewComment: String?, verifiedBy: UUID?, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.milestoneID = milestoneID
        self.projectID = projectID
        self.organizationID = organizationID
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.value = value
        self.unit = unit
        self.valueCanonical = valueCanonical
        self.notes = notes
        self.evidenceURL = evidenceURL
        self.externalRef = externalRef
        self.status = status
        self.submittedBy = submittedBy
        self.reviewedBy = reviewedBy
        self.reviewComment = reviewComment
        self.verifiedBy = verifiedBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Progress of one milestone.
public struct MilestoneProgress: Codable, Sendable, Equatable {
    public var milestoneID: UUID
    public var key: String
    public var title: String
    public var metric: String
    public var unit: String
    public var target: String
    public var achieved: String
    public var percent: String
    public var status: ForecastStatus
    public var dueOn: CalendarDate
    public var submissionsCounted: Int

    enum CodingKeys: String, CodingKey {
        case key, title, metric, unit, target, achieved, percent, status
        case milestoneID = "milestone_id"
        case dueOn = "due_on"
        case submissionsCounted = "submissions_counted"
    }

    public init(milestoneID: UUID, key: String, title: String, metric: String, unit: String, target: String, achieved: String, percent: String, status: ForecastStatus, dueOn: CalendarDate, submissionsCounted: Int) {
        self.milestoneID = milestoneID
        self.key = key
        self.title = title
        self.metric = metric
        self.unit = unit
        self.target = target
        self.achieved = achieved
        self.percent = percent
        self.status = status
        self.dueOn = dueOn
        self.submissionsCounted = submissionsCounted
    }
}

public struct ProjectProgress: Codable, Sendable, Equatable {
    public var projectID: UUID
    public var asOf: CalendarDate
    public var milestones: [MilestoneProgress]

    enum CodingKeys: String, CodingKey {
        case milestones
        case projectID = "project_id"
        case asOf = "as_of"
    }

    public init(projectID: UUID, asOf: CalendarDate, milestones: [MilestoneProgress]) {
        self.projectID = projectID
        self.asOf = asOf
        self.milestones = milestones
    }
}

/// One line of a totals report: a metric in a period.
public struct MetricTotal: Codable, Sendable, Equatable {
    public var metric: String
    public var unit: String
    public var aggregation: Aggregation
    public var period: CalendarDate
    public var total: String
    public var submissions: Int
    public var organizations: Int?

    public init(metric: String, unit: String, aggregation: Aggregation, period: CalendarDate, total: String, submissions: Int, organizations: Int?) {
        self.metric = metric
        self.unit = unit
        self.aggregation = aggregation
        self.period = period
        self.total = total
        self.submissions = submissions
        self.organizations = organizations
    }
}

/// `GET /v1/reports/summary`.
public struct CoalitionSummary: Codable, Sendable, Equatable {
    public var from: CalendarDate?
    public var to: CalendarDate?
    public var by: ReportGrouping
    public var members: Int
    public var partners: Int
    public var projects: Int
    public var activeProjects: Int
    /// Standards with a version in force, and adoptions declared.
    public var standards: Int
    public var adoptions: Int
    public var totals: [MetricTotal]

    enum CodingKeys: String, CodingKey {
        case from, to, by, members, partners, projects, standards, adoptions, totals
        case activeProjects = "active_projects"
    }

    public init(from: CalendarDate?, to: CalendarDate?, by: ReportGrouping, members: Int, partners: Int, projects: Int, activeProjects: Int, standards: Int, adoptions: Int, totals: [MetricTotal]) {
        self.from = from
        self.to = to
        self.by = by
        self.members = members
        self.partners = partners
        self.projects = projects
        self.activeProjects = activeProjects
        self.standards = standards
        self.adoptions = adoptions
        self.totals = totals
    }
}

/// `GET /v1/reports/organizations/{id}`.
public struct OrganizationReport: Codable, Sendable, Equatable {
    public var organizationID: UUID
    public var totals: [MetricTotal]
    /// The organization's published product footprints (PACT v3), oldest first, at most 100.
    public var footprints: [ReportedFootprint]

    enum CodingKeys: String, CodingKey {
        case totals, footprints
        case organizationID = "organization_id"
    }

    public init(organizationID: UUID, totals: [MetricTotal], footprints: [ReportedFootprint] = []) {
        self.organizationID = organizationID
        self.totals = totals
        self.footprints = footprints
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        organizationID = try c.decode(UUID.self, forKey: .organizationID)
        totals = try c.decode([MetricTotal].self, forKey: .totals)
        footprints = try c.decodeIfPresent([ReportedFootprint].self, forKey: .footprints) ?? []
    }
}

/// A published product footprint as an organization's report lists it.
public struct ReportedFootprint: Codable, Sendable, Equatable {
    public var id: UUID
    public var productName: String
    public var productIDs: [String]
    public var declaredUnit: String
    /// kg CO2e per declared unit, excluding biogenic uptake, as the exact decimal text.
    public var pcfExcludingBiogenicUptake: String
    public var status: String
    public var standardID: UUID?

    public init(
        id: UUID, productName: String, productIDs: [String], declaredUnit: String, pcfExcludingBiogenicUptake: String, status: String,
        standardID: UUID?
    ) {
        self.id = id
        self.productName = productName
        self.productIDs = productIDs
        self.declaredUnit = declaredUnit
        self.pcfExcludingBiogenicUptake = pcfExcludingBiogenicUptake
        self.status = status
        self.standardID = standardID
    }

    enum CodingKeys: String, CodingKey {
        case id, status
        case productName = "product_name"
        case productIDs = "product_ids"
        case declaredUnit = "declared_unit"
        case pcfExcludingBiogenicUptake = "pcf_excluding_biogenic_uptake"
        case standardID = "standard_id"
    }
}
