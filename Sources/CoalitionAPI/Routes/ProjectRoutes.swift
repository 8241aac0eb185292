import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird
import PQ

/// `/v1/metrics`, `/v1/projects`, participants, milestones and progress.
struct ProjectRoutes {
    let env: APIEnvironment

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .get, path: "/v1/metrics") { _, context in
                let actor = try context.requireActor()
                return try jsonResponse(try await env.store.transaction(as: actor) { try await $0.metrics() })
            },
            Endpoint(method: .get, path: "/v1/projects") { request, context in try await list(request, context) },
            Endpoint(method: .post, path: "/v1/projects") { request, context in try await create(request, context) },
            Endpoint(method: .get, path: "/v1/projects/{id}") { _, context in
                let (_, project) = try await visibleProject(context)
                return try jsonResponse(project)
            },
            Endpoint(method: .patch, path: "/v1/projects/{id}") { request, context in try await update(request, context) },
            Endpoint(method: .put, path: "/v1/projects/{id}/participants/{organization_id}") { _, context in
                try await participant(context, add: true)
            },
            Endpoint(method: .delete, path: "/v1/projects/{id}/participants/{organization_id}") { _, context in
                try await participant(context, add: false)
            },
            Endpoint(method: .get, path: "/v1/projects/{id}/milestones") { _, context in
                let (actor, project) = try await visibleProject(context)
                return try jsonResponse(try await env.store.transaction(as: actor) { try await $0.milestones(project: project.id) })
            },
            Endpoint(method: .post, path: "/v1/projects/{id}/milestones") { request, context in try await createMilestone(request, context) },
            Endpoint(method: .patch, path: "/v1/milestones/{id}") { request, context in try await updateMilestone(request, context) },
            Endpoint(method: .get, path: "/v1/projects/{id}/progress") { _, context in
                let (actor, project) = try await visibleProject(context)
                let today = PQDate(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400))
                return try jsonResponse(try await env.store.transaction(as: actor) { try await $0.progress(project: project, today: today) })
            },
        ]
    }

    /// The project named by `{id}` if the actor may see it (404 otherwise).
    func visibleProject(_ context: AppRequestContext) async throws -> (Actor, Project) {
        let actor = try context.requireActor()
        let id = try context.uuid("id", what: "the project")
        guard let project = try await env.store.transaction(as: actor, { try await $0.project(id: id) }) else {
            throw Problems.notFound("the project")
        }
        try check(Policy.readProject(actor, participates: project.participants.contains(actor.organizationID)), "the project")
        return (actor, project)
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let page = try PageRequest(request)
        let rows = try await env.store.transaction(as: actor) { try await $0.projects(after: page.cursor, limit: page.fetchLimit) }
        return try jsonResponse(page.page(rows) { $0.code })
    }

    static let categories = ["materials", "logistics", "packaging", "awareness", "energy", "other"]
    static let statuses = ["proposed", "active", "completed", "cancelled"]

    func create(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try check(Policy.createProject(actor), "the project")
        var body = try await JSONBody.read(request, context: context, allowed: [
            "code", "title", "description", "category", "lead_organization_id", "starts_on", "ends_on", "sdgs",
        ])
        let code = body.string("code", required: true, check: Validate.slug)
        let title = body.string("title", required: true) { Validate.text($0, 1...200) }
        let description = body.string("description") { $0.count <= 10_000 ? nil : "must be at most 10000 characters" } ?? ""
        let category = body.string("category", required: true) { Self.categories.contains($0) ? nil : "must be one of \(Self.categories.joined(separator: ", "))" }
        let lead = body.string("lead_organization_id", required: true) { UUID(uuidString: $0) == nil ? "must be an organization id" : nil }
        let startsOn = body.date("starts_on", required: true)
        let endsOn = body.date("ends_on", required: true)
        let sdgs = body.integers("sdgs", range: 1...17) ?? []
        if let startsOn, let endsOn, endsOn < startsOn { body.fail("ends_on", "must not be before starts_on") }
        try body.finish()
        let project = try await mappingConflicts {
            try await env.store.transaction(as: actor) { tx -> Project in
                guard let leadID = UUID(uuidString: lead!), let organization = try await tx.organization(id: leadID),
                    organization.kind != OrganizationKind.secretariat.rawValue
                else { throw Problems.invalid("lead_organization_id", "must be a member or partner organization") }
                return try await tx.createProject(.init(
                    code: code!, title: title!, description: description, category: category!, leadOrganizationID: leadID,
                    startsOn: startsOn!, endsOn: endsOn!, sdgs: Array(Set(sdgs)).sorted()))
            }
        }
        return try jsonResponse(project, status: .created, headers: [.location: "/v1/projects/\(project.id.uuidString.lowercased())"])
    }

    func update(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let (actor, project) = try await visibleProject(context)
        try check(Policy.manageProject(actor, participates: project.participants.contains(actor.organizationID)), "the project")
        var body = try await JSONBody.read(request, context: context, allowed: ["title", "description", "category", "status", "starts_on", "ends_on", "sdgs"])
        var c = StoreTransaction.ProjectChanges()
        c.title = body.string("title") { Validate.text($0, 1...200) }
        c.description = body.string("description") { $0.count <= 10_000 ? nil : "must be at most 10000 characters" }
        c.category = body.string("category") { Self.categories.contains($0) ? nil : "must be one of \(Self.categories.joined(separator: ", "))" }
        c.status = body.string("status") { Self.statuses.contains($0) ? nil : "must be one of \(Self.statuses.joined(separator: ", "))" }
        c.startsOn = body.date("starts_on")
        c.endsOn = body.date("ends_on")
        c.sdgs = body.integers("sdgs", range: 1...17).map { Array(Set($0)).sorted() }
        let start = c.startsOn ?? PQDate(iso: project.startsOn)!
        let end = c.endsOn ?? PQDate(iso: project.endsOn)!
        if end < start { body.fail("ends_on", "must not be before starts_on") }
        if body.keys.isEmpty { body.fail("body", "names no field to change") }
        try body.finish()
        let changes = c
        guard let updated = try await env.store.transaction(as: actor, { try await $0.updateProject(id: project.id, changes) }) else {
            throw Problems.notFound("the project")
        }
        return try jsonResponse(updated)
    }

    func participant(_ context: AppRequestContext, add: Bool) async throws -> Response {
        let (actor, project) = try await visibleProject(context)
        try check(Policy.manageProject(actor, participates: project.participants.contains(actor.organizationID)), "the project")
        let organizationID = try context.uuid("organization_id", what: "the organization")
        let updated = try await env.store.transaction(as: actor) { tx -> Project in
            guard let organization = try await tx.organization(id: organizationID) else { throw Problems.notFound("the organization") }
            if add {
                guard organization.kind != OrganizationKind.secretariat.rawValue, organization.status == OrganizationStatus.active.rawValue else {
                    throw Problems.invalid("organization_id", "only active member and partner organizations take part in projects")
                }
                _ = try await tx.addParticipant(project: project.id, organization: organizationID)
            } else {
                guard organizationID != project.leadOrganizationID else {
                    throw Problem(status: 409, title: "Conflict", detail: "the lead organization cannot leave its project")
                }
                guard try await tx.removeParticipant(project: project.id, organization: organizationID) else {
                    throw Problems.notFound("the participant")
                }
            }
            return try await tx.project(id: project.id)!
        }
        return try jsonResponse(updated)
    }

    func createMilestone(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let (actor, project) = try await visibleProject(context)
        try check(Policy.manageMilestones(actor, participates: project.participants.contains(actor.organizationID), leadOrganizationID: project.leadOrganizationID), "the project")
        var body = try await JSONBody.read(request, context: context, allowed: ["key", "title", "metric", "target_value", "due_on"])
        let key = body.string("key", required: true) {
            (1...63).contains($0.count) && $0.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" })
                ? nil : "may hold only a-z, 0-9 and '-', 1 to 63 characters"
        }
        let title = body.string("title", required: true) { Validate.text($0, 1...200) }
        let metric = body.string("metric", required: true)
        let target = body.decimal("target_value", required: true)
        let due = body.date("due_on", required: true)
        if let target, target <= 0 { body.fail("target_value", "must be greater than zero") }
        try body.finish()
        let milestone = try await mappingConflicts {
            try await env.store.transaction(as: actor) { tx -> Milestone in
                guard try await tx.metric(code: metric!) != nil else {
                    throw Problems.invalid("metric", "is not a metric of the catalogue (GET /v1/metrics)")
                }
                return try await tx.createMilestone(project: project.id, key: key!, title: title!, metric: metric!, target: target!, dueOn: due!)
            }
        }
        return try jsonResponse(milestone, status: .created)
    }

    func updateMilestone(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let id = try context.uuid("id", what: "the milestone")
        let found = try await env.store.transaction(as: actor) { tx -> (Milestone, Project)? in
            guard let m = try await tx.milestone(id: id), let p = try await tx.project(id: m.projectID) else { return nil }
            return (m, p)
        }
        guard let (milestone, project) = found else { throw Problems.notFound("the milestone") }
        try check(Policy.manageMilestones(actor, participates: project.participants.contains(actor.organizationID), leadOrganizationID: project.leadOrganizationID), "the milestone")
        var body = try await JSONBody.read(request, context: context, allowed: ["title", "target_value", "due_on", "status"])
        let title = body.string("title") { Validate.text($0, 1...200) }
        let target = body.decimal("target_value")
        let due = body.date("due_on")
        let status = body.string("status") { ["open", "achieved", "missed"].contains($0) ? nil : "must be one of open, achieved, missed" }
        if let target, target <= 0 { body.fail("target_value", "must be greater than zero") }
        if body.keys.isEmpty { body.fail("body", "names no field to change") }
        try body.finish()
        let updated = try await env.store.transaction(as: actor) {
            try await $0.updateMilestone(id: milestone.id, title: title, target: target, dueOn: due, status: status)
        }
        guard let updated else { throw Problems.notFound("the milestone") }
        return try jsonResponse(updated)
    }
}
