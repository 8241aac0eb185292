import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// `/v1/metrics`, `/v1/projects`, participants, milestones and progress.
struct ProjectRoutes {
    let env: APIEnvironment

    var endpoints: [Endpoint] {
        [
            .caller(.get, "/v1/metrics") { _, context in
                try jsonResponse(try await env.store.transaction(as: context.caller) { try await $0.metrics() })
            },
            .caller(.get, "/v1/projects", list),
            .writer(.post, "/v1/projects", create),
            .caller(.get, "/v1/projects/{id}") { _, context in
                try jsonResponse(try await visibleProject(context))
            },
            .writer(.patch, "/v1/projects/{id}", update),
            .writer(.put, "/v1/projects/{id}/participants/{organization_id}") { _, context in
                try await participant(context, add: true)
            },
            .writer(.delete, "/v1/projects/{id}/participants/{organization_id}") { _, context in
                try await participant(context, add: false)
            },
            .caller(.get, "/v1/projects/{id}/milestones") { _, context in
                let project = try await visibleProject(context)
                return try jsonResponse(try await env.store.transaction(as: context.caller) { try await $0.milestones(project: project.id) })
            },
            .writer(.post, "/v1/projects/{id}/milestones", createMilestone),
            .writer(.patch, "/v1/milestones/{id}", updateMilestone),
            .caller(.get, "/v1/projects/{id}/progress") { _, context in
                let project = try await visibleProject(context)
                return try jsonResponse(try await env.store.transaction(as: context.caller) { try await $0.progress(project: project, today: .today()) })
            },
        ]
    }

    /// The project named by `{id}` if the caller may see it (404 otherwise).
    func visibleProject(_ context: CallerContext) async throws -> Project {
        let id = try context.uuid("id", what: "the project")
        guard let project = try await env.store.transaction(as: context.caller, { try await $0.project(id: id) }) else {
            throw Problems.notFound("the project")
        }
        try check(Policy.readProject(context.caller, project), "the project")
        return project
    }

    func list(_ request: Request, _ context: CallerContext) async throws -> Response {
        let page = try PageRequest<String>.read(request)
        let rows = try await env.store.transaction(as: context.caller) { try await $0.projects(after: page.after, limit: page.fetchLimit) }
        return try jsonResponse(page.page(rows) { $0.code })
    }

    func create(_ request: Request, _ context: CallerContext) async throws -> Response {
        try check(Policy.createProject(context.caller), "the project")
        let new = try await NewProjectRequest.read(request, limit: context.bodyLimit).project
        return try await mappingConflicts {
            try await env.store.answering(as: context.caller) { tx in
                guard let organization = try await tx.organization(id: new.leadOrganizationID), organization.kind != .secretariat else {
                    throw Problems.invalid("lead_organization_id", "must be a member or partner organization")
                }
                let project = try await tx.createProject(new)
                return try jsonResponse(project, status: .created, headers: [.location: "/v1/projects/\(project.id.uuidString.lowercased())"])
            }
        }
    }

    func update(_ request: Request, _ context: CallerContext) async throws -> Response {
        let project = try await visibleProject(context)
        try check(Policy.manageProject(context.caller, project), "the project")
        let changes = try await StoreTransaction.ProjectChanges.read(request, limit: context.bodyLimit, project: project)
        guard let updated = try await env.store.transaction(as: context.caller, { try await $0.updateProject(id: project.id, changes) }) else {
            throw Problems.notFound("the project")
        }
        return try jsonResponse(updated)
    }

    func participant(_ context: CallerContext, add: Bool) async throws -> Response {
        let project = try await visibleProject(context)
        try check(Policy.manageProject(context.caller, project), "the project")
        let organizationID = try context.uuid("organization_id", what: "the organization")
        let updated = try await env.store.transaction(as: context.caller) { tx -> Project? in
            guard let organization = try await tx.organization(id: organizationID) else { throw Problems.notFound("the organization") }
            if add {
                guard organization.kind != .secretariat, organization.status == .active else {
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
            return try await tx.project(id: project.id)
        }
        guard let updated else { throw Problems.notFound("the project") }
        return try jsonResponse(updated)
    }

    func createMilestone(_ request: Request, _ context: CallerContext) async throws -> Response {
        let project = try await visibleProject(context)
        try check(Policy.manageMilestones(context.caller, project), "the project")
        let new = try await NewMilestone.read(request, limit: context.bodyLimit)
        return try await mappingConflicts {
            try await env.store.answering(as: context.caller) { tx in
                guard try await tx.metric(code: new.metric) != nil else {
                    throw Problems.invalid("metric", "is not a metric of the catalogue (GET /v1/metrics)")
                }
                let milestone = try await tx.createMilestone(
                    project: project.id, key: new.key, title: new.title, metric: new.metric, target: new.target, dueOn: new.dueOn)
                return try jsonResponse(milestone, status: .created)
            }
        }
    }

    func updateMilestone(_ request: Request, _ context: CallerContext) async throws -> Response {
        let id = try context.uuid("id", what: "the milestone")
        let found = try await env.store.transaction(as: context.caller) { tx -> (Milestone, Project)? in
            guard let m = try await tx.milestone(id: id), let p = try await tx.project(id: m.projectID) else { return nil }
            return (m, p)
        }
        guard let (milestone, project) = found else { throw Problems.notFound("the milestone") }
        try check(Policy.manageMilestones(context.caller, project), "the milestone")
        let patch = try await MilestonePatch.read(request, limit: context.bodyLimit)
        let updated = try await env.store.transaction(as: context.caller) {
            try await $0.updateMilestone(id: milestone.id, title: patch.title, target: patch.target, dueOn: patch.dueOn, status: patch.status)
        }
        guard let updated else { throw Problems.notFound("the milestone") }
        return try jsonResponse(updated)
    }
}
