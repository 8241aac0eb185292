import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird

extension HTTPField.Name {
    /// `unchanged` when a submission repeated one that is stored already.
    static let coalitionOutcome = HTTPField.Name("Coalition-Outcome")!
}

/// Progress submissions: create per milestone, list, show, review, withdraw, verify.
struct SubmissionRoutes {
    let env: APIEnvironment

    var endpoints: [Endpoint] {
        [
            .writer(.post, "/v1/milestones/{id}/submissions", submit),
            .caller(.get, "/v1/submissions", list),
            .caller(.get, "/v1/submissions/{id}") { _, context in
                let id = try context.uuid("id", what: "the submission")
                guard let s = try await env.store.read(as: context.caller, { try await $0.submission(id: id) }) else {
                    throw Problems.notFound("the submission")
                }
                return try jsonResponse(s)
            },
            .writer(.post, "/v1/submissions/{id}/review") { request, context in
                let decision = try await ReviewDecision.read(request, limit: context.bodyLimit)
                return try await act(context, decision.verdict == .approve ? .approve : .reject, comment: decision.comment)
            },
            .writer(.post, "/v1/submissions/{id}/withdraw") { _, context in try await act(context, .withdraw, comment: nil) },
            .writer(.post, "/v1/submissions/{id}/verify") { _, context in try await act(context, .verify, comment: nil) },
        ]
    }

    func submit(_ request: Request, _ context: CallerContext) async throws -> Response {
        let caller = context.caller
        let milestoneID = try context.uuid("id", what: "the milestone")
        let draft = try await SubmissionDraft.read(request, limit: context.bodyLimit)
        return try await env.store.answering(as: caller) { tx in
            try Self.answer(try await submitted(draft, milestone: milestoneID, in: tx, as: caller))
        }
    }

    /// The caller's organization's submission of `draft` to the milestone, judged by
    /// `SubmissionRules` (422 naming each field), for a milestone it may submit to (404, 403).
    ///
    /// One flight when the milestone's facts are known for the caller's organization
    /// (`KnownMilestones`: it was allowed to submit to it before), the caller's role
    /// may submit and the draft is valid: the policy has then decided on the facts the insert
    /// itself checks (the milestone visible, the organization a participating member), and the
    /// insert carries BEGIN, the caller and COMMIT. Anything it does not store (refused, a
    /// repeat, a conflict) and every other submission take two flights: BEGIN, the caller and
    /// everything the rules need; then the insert with its audit entry and the COMMIT. Both
    /// answer alike.
    func submitted(_ draft: SubmissionDraft, milestone milestoneID: UUID, in tx: StoreTransaction, as caller: Caller) async throws -> SubmissionOutcome {
        if let facts = env.milestones[milestoneID, of: caller.organizationID], Policy.submit(caller, participates: true, organizationKind: .member) == .allowed,
            case .success(let valid) = SubmissionRules.validate(draft, metricUnit: facts.unit, aggregation: facts.aggregation, today: .today())
        {
            if let stored = try await tx.submitKnown(valid, milestone: milestoneID, facts: facts, caller: caller) { return .created(stored) }
            return try await tx.continuing { try await judged(draft, milestone: milestoneID, in: $0, as: caller) }
        }
        return try await judged(draft, milestone: milestoneID, in: tx, as: caller)
    }

    /// Reads what the rules need, then judges and stores (two flights).
    private func judged(_ draft: SubmissionDraft, milestone milestoneID: UUID, in tx: StoreTransaction, as caller: Caller) async throws -> SubmissionOutcome {
        guard let target = try await tx.submissionContext(milestone: milestoneID, organization: caller.organizationID) else {
            throw Problems.notFound("the milestone")
        }
        guard let kind = target.organizationKind else { throw Problems.notFound("your organization") }
        try check(Policy.submit(caller, participates: target.participates, organizationKind: kind), "the milestone")
        env.milestones.remember(target.facts, of: milestoneID, for: caller.organizationID)
        let milestone = target.milestone
        switch SubmissionRules.validate(draft, metricUnit: milestone.unit, aggregation: target.aggregation, today: .today()) {
        case .failure(let invalid): throw Problems.invalid(invalid.errors)
        case .success(let valid): return try await tx.submit(valid, milestone: milestone, caller: caller, final: true)
        }
    }

    /// 201 for a new submission, 200 marked unchanged for a repeat, 409 naming the live one.
    static func answer(_ outcome: SubmissionOutcome) throws -> Response {
        switch outcome {
        case .created(let s):
            return try jsonResponse(s, status: .created, headers: [.location: "/v1/submissions/\(s.id.uuidString.lowercased())"])
        case .unchanged(let s):
            return try jsonResponse(s, status: .ok, headers: [.coalitionOutcome: "unchanged"])
        case .conflict(let existing):
            let id = existing.uuidString.lowercased()
            throw Problem(
                status: 409, title: "Conflict",
                detail: "a live submission \(id) holds another value for this milestone, organization and period; withdraw it, or ask for its rejection, then submit again",
                type: Problems.conflictType, errors: [.init(field: "value", message: "differs from submission \(id)")],
                instance: "/v1/submissions/\(id)")
        }
    }

    func list(_ request: Request, _ context: CallerContext) async throws -> Response {
        let query = try SubmissionQuery(request)
        let rows = try await env.store.transaction(as: context.caller) {
            try await $0.submissions(query.filter, after: query.page.after.map { ($0.micros, $0.id) }, limit: query.page.fetchLimit)
        }
        return try jsonResponse(query.page.page(rows, item: \.0) { SubmissionFeedKey(micros: $0.1, id: $0.0.id) })
    }

    func act(_ context: CallerContext, _ action: SubmissionAction, comment: String?) async throws -> Response {
        let id = try context.uuid("id", what: "the submission")
        return try await env.store.answering(as: context.caller) { tx in
            try jsonResponse(try await acted(id, action, comment: comment, in: tx, as: context.caller))
        }
    }

    /// `action` on the submission, if the caller sees it (404), may take the action (403) and
    /// its status allows it (409).
    func acted(_ id: UUID, _ action: SubmissionAction, comment: String?, in tx: StoreTransaction, as caller: Caller) async throws -> Submission {
        guard let visible = try await tx.submission(id: id) else { throw Problems.notFound("the submission") }
        try check(Policy.act(caller, action, submitterOrganizationID: visible.organizationID), "the submission")
        // Locked only once the caller may act: the lock needs the update policy to pass.
        guard let current = try await tx.submission(id: id, forUpdate: true) else { throw Problems.notFound("the submission") }
        let allowed = SubmissionAction.allowed(in: current.status)
        guard allowed.contains(action) else {
            throw Problems.illegalTransition(
                "the submission is \(current.status.rawValue); allowed actions: \(allowed.isEmpty ? "none" : allowed.map(\.rawValue).joined(separator: ", "))")
        }
        return try await tx.transition(id, action, comment: comment, caller: caller)
    }
}
