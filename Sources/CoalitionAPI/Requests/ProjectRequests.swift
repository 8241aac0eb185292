import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// `POST /v1/projects`: `{code, title, description?, category, lead_organization_id, starts_on,
/// ends_on, sdgs?}`.
struct NewProjectRequest {
    var project: StoreTransaction.NewProject

    static func read(_ request: Request, limit: Int) async throws -> NewProjectRequest {
        var body = try await JSONBody.read(request, limit: limit, allowed: [
            "code", "title", "description", "category", "lead_organization_id", "starts_on", "ends_on", "sdgs",
        ])
        let code = body.string("code", required: true, check: Validate.slug)
        let title = body.string("title", required: true) { Validate.text($0, Limits.projectTitle) }
        let description = body.string("description") { Validate.length($0, Limits.projectDescription) } ?? ""
        let category = body.enumeration("category", ProjectCategory.self, required: true)
        let lead = body.uuid("lead_organization_id", required: true, "an organization id")
        let startsOn = body.date("starts_on", required: true)
        let endsOn = body.date("ends_on", required: true)
        let sdgs = body.integers("sdgs", range: Limits.sdg) ?? []
        if let startsOn, let endsOn, endsOn < startsOn { body.fail("ends_on", "must not be before starts_on") }
        let (c, t, k, l, s, e) = try body.finish(code, title, category, lead, startsOn, endsOn)
        return NewProjectRequest(project: .init(
            code: c, title: t, description: description, category: k, leadOrganizationID: l, startsOn: s, endsOn: e,
            sdgs: Array(Set(sdgs)).sorted()))
    }
}

extension StoreTransaction.ProjectChanges {
    /// `PATCH /v1/projects/{id}`: any of `{title, description, category, status, starts_on,
    /// ends_on, sdgs}`; the period stays in order with the fields not sent.
    static func read(_ request: Request, limit: Int, project: Project) async throws -> Self {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["title", "description", "category", "status", "starts_on", "ends_on", "sdgs"])
        let changes = Self(
            title: body.string("title") { Validate.text($0, Limits.projectTitle) },
            description: body.string("description") { Validate.length($0, Limits.projectDescription) },
            category: body.enumeration("category", ProjectCategory.self), status: body.enumeration("status", ProjectStatus.self),
            startsOn: body.date("starts_on"), endsOn: body.date("ends_on"),
            sdgs: body.integers("sdgs", range: Limits.sdg).map { Array(Set($0)).sorted() })
        if (changes.endsOn ?? project.endsOn) < (changes.startsOn ?? project.startsOn) { body.fail("ends_on", "must not be before starts_on") }
        body.requireSomeField()
        try body.finish()
        return changes
    }
}

/// `POST /v1/projects/{id}/milestones`: `{key, title, metric, target_value, due_on}`.
struct NewMilestone {
    var key: String
    var title: String
    var metric: String
    var target: Decimal
    var dueOn: CalendarDate

    static func read(_ request: Request, limit: Int) async throws -> NewMilestone {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["key", "title", "metric", "target_value", "due_on"])
        let key = body.string("key", required: true, check: Validate.milestoneKey)
        let title = body.string("title", required: true) { Validate.text($0, Limits.milestoneTitle) }
        let metric = body.string("metric", required: true)
        let target = body.decimal("target_value", required: true)
        let due = body.date("due_on", required: true)
        if let target, target <= 0 { body.fail("target_value", "must be greater than zero") }
        let (k, t, m, v, d) = try body.finish(key, title, metric, target, due)
        return NewMilestone(key: k, title: t, metric: m, target: v, dueOn: d)
    }
}

/// `PATCH /v1/milestones/{id}`: any of `{title, target_value, due_on, status}`.
struct MilestonePatch {
    var title: String?
    var target: Decimal?
    var dueOn: CalendarDate?
    var status: MilestoneStatus?

    static func read(_ request: Request, limit: Int) async throws -> MilestonePatch {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["title", "target_value", "due_on", "status"])
        let patch = MilestonePatch(
            title: body.string("title") { Validate.text($0, Limits.milestoneTitle) }, target: body.decimal("target_value"),
            dueOn: body.date("due_on"), status: body.enumeration("status", MilestoneStatus.self))
        if let target = patch.target, target <= 0 { body.fail("target_value", "must be greater than zero") }
        body.requireSomeField()
        try body.finish()
        return patch
    }
}
