import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

extension StoreTransaction {
    public func metrics() async throws -> [Metric] {
        try await query("SELECT code, name, unit, aggregation FROM metrics ORDER BY code").map { row in
            let unit: String = try row.decode("unit")
            return Metric(code: try row.decode("code"), name: try row.decode("name"), unit: unit,
                          aggregation: try row.decode("aggregation"), units: Units.family(of: unit))
        }
    }

    static let projectSelect = """
        SELECT p.id, p.code, p.title, p.description, p.category, p.status, p.lead_organization_id, p.starts_on, p.ends_on,
               p.sdgs, p.created_at, p.updated_at,
               coalesce((SELECT array_agg(pp.organization_id ORDER BY pp.organization_id) FROM project_participants pp
                         WHERE pp.project_id = p.id), '{}') AS participants
        FROM projects p
        """

    static func project(_ row: Row) throws -> Project {
        Project(
            id: try row.decode("id"), code: try row.decode("code"), title: try row.decode("title"),
            description: try row.decode("description"), category: try row.decode("category"), status: try row.decode("status"),
            leadOrganizationID: try row.decode("lead_organization_id"), participants: try row.decode("participants"),
            startsOn: try row.decode("starts_on"), endsOn: try row.decode("ends_on"),
            sdgs: try row.decode("sdgs"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    /// Projects visible to the caller (row-level security), by code.
    public func projects(after code: String?, limit: Int) async throws -> [Project] {
        try await query("\(unescaped: Self.projectSelect) WHERE \(code) IS NULL OR p.code > \(code) ORDER BY p.code LIMIT \(limit)").map(Self.project)
    }

    public func project(id: UUID) async throws -> Project? {
        try await query("\(unescaped: Self.projectSelect) WHERE p.id = \(id)").first.map(Self.project)
    }

    public func project(code: String) async throws -> Project? {
        try await query("\(unescaped: Self.projectSelect) WHERE p.code = \(code)").first.map(Self.project)
    }

    public struct NewProject: Sendable {
        public var code, title, description: String
        public var category: ProjectCategory
        public var leadOrganizationID: UUID
        public var startsOn, endsOn: CalendarDate
        public var sdgs: [Int]
        public init(code: String, title: String, description: String, category: ProjectCategory, leadOrganizationID: UUID, startsOn: CalendarDate, endsOn: CalendarDate, sdgs: [Int]) {
            self.code = code
            self.title = title
            self.description = description
            self.category = category
            self.leadOrganizationID = leadOrganizationID
            self.startsOn = startsOn
            self.endsOn = endsOn
            self.sdgs = sdgs
        }
    }

    /// Creates a project; its lead organization takes part from the start.
    public func createProject(_ p: NewProject) async throws -> Project {
        let id: UUID = try await query("""
            INSERT INTO projects (code, title, description, category, lead_organization_id, starts_on, ends_on, sdgs)
            VALUES (\(p.code), \(p.title), \(p.description), \(p.category), \(p.leadOrganizationID), \(p.startsOn), \(p.endsOn), \(p.sdgs)::int[])
            RETURNING id
            """)[0].decode("id")
        try await query("INSERT INTO project_participants (project_id, organization_id) VALUES (\(id), \(p.leadOrganizationID))")
        try await audit("project.create", entity: "project", id: id.uuidString.lowercased(),
                        data: ["code": .string(p.code), "lead_organization_id": .string(p.leadOrganizationID.uuidString.lowercased())])
        return try await project(id: id)!
    }

    public struct ProjectChanges: Sendable {
        public var title, description: String?
        public var category: ProjectCategory?
        public var status: ProjectStatus?
        public var startsOn, endsOn: CalendarDate?
        public var sdgs: [Int]?
        public init(
            title: String? = nil, description: String? = nil, category: ProjectCategory? = nil, status: ProjectStatus? = nil,
            startsOn: CalendarDate? = nil, endsOn: CalendarDate? = nil, sdgs: [Int]? = nil
        ) {
            self.title = title
            self.description = description
            self.category = category
            self.status = status
            self.startsOn = startsOn
            self.endsOn = endsOn
            self.sdgs = sdgs
        }
    }

    public func updateProject(id: UUID, _ c: ProjectChanges) async throws -> Project? {
        let updated = try await query("""
            UPDATE projects SET title = coalesce(\(c.title), title), description = coalesce(\(c.description), description),
                   category = coalesce(\(c.category), category), status = coalesce(\(c.status), status),
                   starts_on = coalesce(\(c.startsOn), starts_on), ends_on = coalesce(\(c.endsOn), ends_on),
                   sdgs = coalesce(\(c.sdgs)::int[], sdgs), updated_at = now()
            WHERE id = \(id) RETURNING id
            """)
        guard !updated.isEmpty else { return nil }
        var data: [String: JSONValue] = [:]
        if let v = c.title { data["title"] = .string(v) }
        if let v = c.status { data["status"] = .string(v.rawValue) }
        if let v = c.category { data["category"] = .string(v.rawValue) }
        try await audit("project.update", entity: "project", id: id.uuidString.lowercased(), data: data)
        return try await project(id: id)
    }

    /// Adds an organization to a project; false when it already takes part.
    public func addParticipant(project: UUID, organization: UUID) async throws -> Bool {
        let added = try await query("""
            INSERT INTO project_participants (project_id, organization_id) VALUES (\(project), \(organization))
            ON CONFLICT DO NOTHING
            """).affectedRows
        if added > 0 {
            try await audit("project.participant_add", entity: "project", id: project.uuidString.lowercased(),
                            data: ["organization_id": .string(organization.uuidString.lowercased())])
        }
        return added > 0
    }

    public func removeParticipant(project: UUID, organization: UUID) async throws -> Bool {
        let removed = try await query("DELETE FROM project_participants WHERE project_id = \(project) AND organization_id = \(organization)").affectedRows
        if removed > 0 {
            try await audit("project.participant_remove", entity: "project", id: project.uuidString.lowercased(),
                            data: ["organization_id": .string(organization.uuidString.lowercased())])
        }
        return removed > 0
    }

    // MARK: milestones

    static let milestoneSelect = """
        SELECT m.id, m.project_id, m.key, m.title, m.metric, mt.unit, mt.aggregation, m.target_value, m.due_on, m.status
        FROM milestones m JOIN metrics mt ON mt.code = m.metric
        """

    static func milestone(_ row: Row) throws -> Milestone {
        Milestone(
            id: try row.decode("id"), projectID: try row.decode("project_id"), key: try row.decode("key"), title: try row.decode("title"),
            metric: try row.decode("metric"), unit: try row.decode("unit"), targetValue: try row.decode("target_value", as: Decimal.self).description,
            dueOn: try row.decode("due_on"), status: try row.decode("status"))
    }

    public func milestones(project: UUID) async throws -> [Milestone] {
        try await query("\(unescaped: Self.milestoneSelect) WHERE m.project_id = \(project) ORDER BY m.due_on, m.key").map(Self.milestone)
    }

    /// Every milestone the caller may see, by project and due date.
    public func milestones() async throws -> [Milestone] {
        try await query("\(unescaped: Self.milestoneSelect) ORDER BY m.project_id, m.due_on, m.key").map(Self.milestone)
    }

    public func milestone(id: UUID) async throws -> Milestone? {
        try await query("\(unescaped: Self.milestoneSelect) WHERE m.id = \(id)").first.map(Self.milestone)
    }

    public func metric(code: String) async throws -> (unit: String, aggregation: Aggregation)? {
        guard let row = try await query("SELECT unit, aggregation FROM metrics WHERE code = \(code)").first else { return nil }
        return (try row.decode("unit"), try row.decode("aggregation"))
    }

    public func createMilestone(project: UUID, key: String, title: String, metric: String, target: Decimal, dueOn: CalendarDate) async throws -> Milestone {
        let id: UUID = try await query("""
            INSERT INTO milestones (project_id, key, title, metric, target_value, due_on)
            VALUES (\(project), \(key), \(title), \(metric), \(target), \(dueOn)) RETURNING id
            """)[0].decode("id")
        try await audit("milestone.create", entity: "milestone", id: id.uuidString.lowercased(),
                        data: ["key": .string(key), "metric": .string(metric), "target_value": .string(target.description)])
        return try await milestone(id: id)!
    }

    public func updateMilestone(id: UUID, title: String?, target: Decimal?, dueOn: CalendarDate?, status: MilestoneStatus?) async throws -> Milestone? {
        let updated = try await query("""
            UPDATE milestones SET title = coalesce(\(title), title), target_value = coalesce(\(target), target_value),
                   due_on = coalesce(\(dueOn), due_on), status = coalesce(\(status), status), updated_at = now()
            WHERE id = \(id) RETURNING id
            """)
        guard !updated.isEmpty else { return nil }
        var data: [String: JSONValue] = [:]
        if let title { data["title"] = .string(title) }
        if let target { data["target_value"] = .string(target.description) }
        if let dueOn { data["due_on"] = .string(dueOn.description) }
        if let status { data["status"] = .string(status.rawValue) }
        try await audit("milestone.update", entity: "milestone", id: id.uuidString.lowercased(), data: data)
        return try await milestone(id: id)
    }

    // MARK: progress

    /// Per milestone: target, achieved (maintained totals of approved and verified
    /// submissions, by the metric's aggregation) and the forecast status.
    public func progress(project: Project, today: CalendarDate) async throws -> ProjectProgress {
        let rows = try await query("""
            SELECT m.id, m.key, m.title, m.metric, mt.unit, mt.aggregation, m.target_value, m.due_on,
                   coalesce(t.total, 0) AS total, coalesce(t.counted, 0) AS counted, t.latest_value
            FROM milestones m JOIN metrics mt ON mt.code = m.metric LEFT JOIN milestone_totals t ON t.milestone_id = m.id
            WHERE m.project_id = \(project.id) ORDER BY m.due_on, m.key
            """)
        let items = try rows.map { row -> MilestoneProgress in
            let aggregation: Aggregation = try row.decode("aggregation")
            let counted: Int = try row.decode("counted")
            let total: Decimal = try row.decode("total")
            let achieved: Decimal = switch aggregation {
            case .sum: total
            case .latest: try row.decode("latest_value", as: Decimal?.self) ?? 0
            case .mean: counted > 0 ? total / Decimal(counted) : 0
            }
            let target: Decimal = try row.decode("target_value")
            let due: CalendarDate = try row.decode("due_on")
            return MilestoneProgress(
                milestoneID: try row.decode("id"), key: try row.decode("key"), title: try row.decode("title"), metric: try row.decode("metric"),
                unit: try row.decode("unit"), target: target.description, achieved: achieved.description,
                percent: MilestoneForecast.percent(achieved: achieved, target: target).description,
                status: MilestoneForecast.status(achieved: achieved, target: target, start: project.startsOn, due: due, today: today),
                dueOn: due, submissionsCounted: counted)
        }
        return ProjectProgress(projectID: project.id, asOf: today, milestones: items)
    }

    // MARK: reports

    public func coalitionSummary(from: CalendarDate?, to: CalendarDate?, by grouping: ReportGrouping) async throws -> CoalitionSummary {
        let counts = try await query("SELECT * FROM coalition_counts()")[0]
        let totals = try await query("SELECT * FROM coalition_totals(\(from), \(to), \(grouping.rawValue))").map(Self.metricTotal)
        return CoalitionSummary(
            from: from, to: to, by: grouping,
            members: try counts.decode("members"), partners: try counts.decode("partners"),
            projects: try counts.decode("projects"), activeProjects: try counts.decode("active_projects"),
            standards: try counts.decode("standards"), adoptions: try counts.decode("adoptions"), totals: totals)
    }

    static func metricTotal(_ row: Row) throws -> MetricTotal {
        let aggregation: Aggregation = try row.decode("aggregation")
        let total: Decimal = try row.decode("total")
        let counted: Int = try row.decode("counted")
        // For state metrics (share of clean electricity) a sum means nothing: report the mean.
        let value = aggregation == .sum ? total : (counted > 0 ? total / Decimal(counted) : 0)
        return MetricTotal(
            metric: try row.decode("metric"), unit: try row.decode("unit"), aggregation: aggregation,
            period: try row.decode("period"), total: value.description, submissions: counted,
            organizations: try row.decode("organizations", as: Int?.self))
    }

    public func organizationTotals(organization: UUID, from: CalendarDate?, to: CalendarDate?) async throws -> [MetricTotal] {
        try await query("""
            SELECT c.metric, m.unit, m.aggregation, date_trunc('year', c.quarter)::date AS period,
                   sum(c.total) AS total, sum(c.counted)::bigint AS counted, NULL::bigint AS organizations
            FROM contribution_totals c JOIN metrics m ON m.code = c.metric
            WHERE c.organization_id = \(organization)
              AND (\(from) IS NULL OR c.quarter >= date_trunc('quarter', \(from)::timestamp)::date) AND (\(to) IS NULL OR c.quarter <= \(to))
            GROUP BY 1, 2, 3, 4 ORDER BY 1, 4
            """).map(Self.metricTotal)
    }
}
