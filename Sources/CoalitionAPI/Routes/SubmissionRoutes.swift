import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird
import PQ

/// Progress submissions: create per milestone, list, show, review, withdraw, verify.
struct SubmissionRoutes {
    let env: APIEnvironment

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .post, path: "/v1/milestones/{id}/submissions") { request, context in try await submit(request, context) },
            Endpoint(method: .get, path: "/v1/submissions") { request, context in try await list(request, context) },
            Endpoint(method: .get, path: "/v1/submissions/{id}") { _, context in
                let actor = try context.requireActor()
                let id = try context.uuid("id", what: "the submission")
                guard let s = try await env.store.transaction(as: actor, { try await $0.submission(id: id) }) else {
                    throw Problems.notFound("the submission")
                }
                return try jsonResponse(s)
            },
            Endpoint(method: .post, path: "/v1/submissions/{id}/review") { request, context in try await review(request, context) },
            Endpoint(method: .post, path: "/v1/submissions/{id}/withdraw") { _, context in try await act(context, .withdraw, comment: nil) },
            Endpoint(method: .post, path: "/v1/submissions/{id}/verify") { _, context in try await act(context, .verify, comment: nil) },
        ]
    }

    static func today() -> PQDate { PQDate(daysSinceEpoch: Int((Date().timeIntervalSince1970 / 86_400).rounded(.down))) }

    func submit(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let milestoneID = try context.uuid("id", what: "the milestone")
        var body = try await JSONBody.read(request, context: context, allowed: [
            "period_start", "period_end", "value", "unit", "notes", "evidence_url", "external_ref",
        ])
        let draft = SubmissionDraft(
            periodStart: body.string("period_start"), periodEnd: body.string("period_end"), value: body.decimalText("value"),
            unit: body.string("unit"), notes: body.string("notes"), evidenceURL: body.string("evidence_url"),
            externalRef: body.string("external_ref"))
        try body.finish()
        let outcome = try await env.store.transaction(as: actor) { tx -> SubmissionOutcome in
            guard let milestone = try await tx.milestone(id: milestoneID) else { throw Problems.notFound("the milestone") }
            let participates = try await tx.participates(organization: actor.organizationID, project: milestone.projectID)
            let kind = try await tx.organization(id: actor.organizationID).flatMap { OrganizationKind(rawValue: $0.kind) } ?? .member
            try check(Policy.submit(actor, participates: participates, organizationKind: kind), "the milestone")
            guard let metric = try await tx.metric(code: milestone.metric) else { throw Problems.notFound("the metric") }
            switch SubmissionRules.validate(draft, metricUnit: metric.unit, aggregation: metric.aggregation, today: Self.today()) {
            case .failure(let invalid): throw Problems.invalid(invalid.errors)
            case .success(let valid): return try await tx.submit(valid, milestone: milestone, actor: actor)
            }
        }
        switch outcome {
        case .created(let s):
            return try jsonResponse(s, status: .created, headers: [.location: "/v1/submissions/\(s.id.uuidString.lowercased())"])
        case .unchanged(let s):
            return try jsonResponse(s, status: .ok, headers: [HTTPField.Name("Coalition-Outcome")!: "unchanged"])
        case .conflict(let existing):
            throw Problem(
                status: 409, title: "Conflict",
                detail: "a live submission \(existing.uuidString.lowercased()) holds another value for this milestone, organization and period; withdraw it, or ask for its rejection, then submit again",
                type: "urn:coalition:problem:conflict",
                errors: [.init(field: "value", message: "differs from submission \(existing.uuidString.lowercased())")],
                instance: "/v1/submissions/\(existing.uuidString.lowercased())")
        }
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let page = try PageRequest(request)
        let q = request.uri.queryParameters
        var errors: [Problem.FieldError] = []
        func uuid(_ name: String) -> UUID? {
            guard let text = q.get(name), !text.isEmpty else { return nil }
            guard let id = UUID(uuidString: text) else { errors.append(.init(field: name, message: "must be an id")); return nil }
            return id
        }
        var filter = SubmissionFilter()
        filter.project = uuid("project")
        filter.milestone = uuid("milestone")
        filter.organization = uuid("organization")
        if let text = q.get("status"), !text.isEmpty {
            if let s = SubmissionStatus(rawValue: text) { filter.status = s } else {
                errors.append(.init(field: "status", message: "must be one of \(SubmissionStatus.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
        }
        if let text = q.get("updated_after"), !text.isEmpty {
            if let d = ISO8601DateFormatter().date(from: text) ?? Self.fractionalISO.date(from: text) { filter.updatedAfter = d } else {
                errors.append(.init(field: "updated_after", message: "must be an RFC 3339 timestamp"))
            }
        }
        var after: (Int64, UUID)?
        if let cursor = page.cursor {
            let parts = cursor.split(separator: "|")
            if parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) { after = (micros, id) } else {
                errors.append(.init(field: "cursor", message: "is not a cursor this server issued"))
            }
        }
        if !errors.isEmpty { throw Problems.invalid(errors) }
        let f = filter
        let rows = try await env.store.transaction(as: actor) { try await $0.submissions(f, after: after, limit: page.fetchLimit) }
        var items = rows.map(\.0)
        var next: String?
        if rows.count > page.limit {
            items = Array(items.prefix(page.limit))
            let last = rows[page.limit - 1]
            next = Cursor.encode("\(last.1)|\(last.0.id.uuidString.lowercased())")
        }
        return try jsonResponse(Page(items: items, nextCursor: next))
    }

    /// RFC 3339 with fractional seconds (a formatter per call: formatters are not Sendable).
    static var fractionalISO: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }

    func review(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        _ = try context.requireActor()
        let ballot = try await ReviewDecision.read(request, context: context)
        return try await act(context, ballot.approve ? .approve : .reject, comment: ballot.comment)
    }

    func act(_ context: AppRequestContext, _ action: SubmissionAction, comment: String?) async throws -> Response {
        let actor = try context.requireActor()
        let id = try context.uuid("id", what: "the submission")
        let updated = try await env.store.transaction(as: actor) { tx -> Submission in
            guard let visible = try await tx.submission(id: id) else { throw Problems.notFound("the submission") }
            try check(Policy.act(actor, action, submitterOrganizationID: visible.organizationID), "the submission")
            // Locked only once the actor may act: the lock needs the update policy to pass.
            guard let current = try await tx.submission(id: id, forUpdate: true) else { throw Problems.notFound("the submission") }
            let status = SubmissionStatus(rawValue: current.status) ?? .submitted
            let allowed = SubmissionAction.allowed(in: status)
            guard allowed.contains(action) else {
                throw Problem(
                    status: 409, title: "Conflict",
                    detail: "the submission is \(status.rawValue); allowed actions: \(allowed.isEmpty ? "none" : allowed.map(\.rawValue).joined(separator: ", "))",
                    type: "urn:coalition:problem:illegal-transition")
            }
            return try await tx.transition(id, action, comment: comment, actor: actor)
        }
        return try jsonResponse(updated)
    }
}
