import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// `/console/submissions`: the review queue of coalition admins (approve or reject, one or
/// many at once) and auditors (verify approved ones), filtered by project, milestone,
/// organization and status. Each decision is the API's (`SubmissionRoutes.acted`): the same
/// policy, lock, state machine and audit entry; the selected ones are decided in one
/// transaction, so that a refusal of one leaves all of them as they were.
extension ConsoleRoutes {
    static let queueLimit = 200

    var submissionRoutes: [Route] {
        [
            (.get, "/console/submissions", page { request, _, session in try await reviewQueue(request, session) }),
            (.post, "/console/submissions/review", form(admits: Policy.reviewQueue) { _, _, session, form in
                try await review(form, session)
            }),
        ]
    }

    func reviewQueue(_ request: Request, _ session: ConsoleSession) async throws -> Response {
        let caller = session.caller
        try check(Policy.reviewQueue(caller), "the review queue")
        var query = QueryReader(request)
        var filter = SubmissionFilter()
        filter.project = query.uuid("project", "a project id")
        filter.milestone = query.uuid("milestone", "a milestone id")
        filter.organization = query.uuid("organization", "an organization id")
        // What waits for this role unless the filter says otherwise ("all": every status).
        let statusText = query.string("status")
        if statusText != "all" { filter.status = query.enumeration("status", SubmissionStatus.self) ?? (statusText == nil ? Self.waiting(caller.role) : nil) }
        try query.finish()

        let (rows, projects, milestones, names) = try await env.store.read(as: caller) { tx in
            (try await tx.submissions(filter, after: nil, limit: Self.queueLimit), try await tx.projects(after: nil, limit: 500),
             try await tx.milestones(), try await tx.organizationNames())
        }
        let projectCodes = Dictionary(projects.map { ($0.id, $0.code) }, uniquingKeysWith: { a, _ in a })
        let milestoneTitles = Dictionary(milestones.map { ($0.id, $0.title) }, uniquingKeysWith: { a, _ in a })
        let actions: [ReviewQueuePage.Action] = caller.role == .coalitionAdmin
            ? [.init(value: "approve", label: "Approve selected"), .init(value: "reject", label: "Reject selected")]
            : caller.role == .auditor ? [.init(value: "verify", label: "Verify selected")] : []
        let page = ReviewQueuePage(
            projects: projects.map { ConsoleOption(value: $0.id.uuidString.lowercased(), label: $0.title, selected: $0.id == filter.project) },
            milestones: milestones.map { m in
                ConsoleOption(value: m.id.uuidString.lowercased(), label: "\(projectCodes[m.projectID] ?? "") · \(m.title)", selected: m.id == filter.milestone)
            },
            organizations: names.sorted { $0.value < $1.value }.map {
                ConsoleOption(value: $0.key.uuidString.lowercased(), label: $0.value, selected: $0.key == filter.organization)
            },
            statuses: [ConsoleOption(value: "all", label: "any", selected: statusText == "all")]
                + ConsoleOption.all(SubmissionStatus.self, selected: filter.status),
            submissions: rows.map { (s, _) in
                ReviewQueuePage.Row(
                    id: s.id.uuidString.lowercased(), organization: names[s.organizationID] ?? "", project: projectCodes[s.projectID] ?? "",
                    milestone: milestoneTitles[s.milestoneID] ?? "", period: "\(s.periodStart) – \(s.periodEnd)", value: s.value, unit: s.unit,
                    status: ConsoleText.label(s.status), comment: s.reviewComment ?? "", updatedAt: ConsoleText.time(s.updatedAt),
                    selectable: SubmissionAction.allowed(in: s.status).contains { actions.map(\.value).contains($0.rawValue) })
            },
            limited: rows.count == Self.queueLimit, limit: Self.queueLimit, actions: actions, canComment: caller.role == .coalitionAdmin)
        return pages.render("submissions", page, session: session, current: "/console/submissions", notice: Self.notice(request))
    }

    /// The status a role's queue shows first: what waits for its decision.
    static func waiting(_ role: Role) -> SubmissionStatus? {
        switch role {
        case .coalitionAdmin: .submitted
        case .auditor: .approved
        default: nil
        }
    }

    func review(_ form: ConsoleForm, _ session: ConsoleSession) async throws -> Response {
        let caller = session.caller
        var fields = ConsoleFields(form)
        let action = fields.enumeration("action", SubmissionAction.self, required: true)
        let comment = fields.string("comment", check: ReviewDecision.commentReason)
        var ids: [UUID] = []
        for text in form.all("id") {
            guard let id = UUID(uuidString: text) else {
                fields.fail("id", "\(text.prefix(40)) is not a submission id")
                continue
            }
            if !ids.contains(id) { ids.append(id) }
        }
        if ids.isEmpty { fields.fail("id", "select at least one submission") }
        if action == .withdraw { fields.fail("action", "a submission is withdrawn by its organization, not from the review queue") }
        if ReviewDecision.lacksComment(action == .reject ? .reject : nil, comment) { fields.fail("comment", "is required when rejecting") }
        try fields.finish()
        let submissionAction = action!
        let api = SubmissionRoutes(env: env)
        try await env.store.transaction(as: caller, concluding: false) { tx in
            for id in ids {
                do {
                    _ = try await api.acted(id, submissionAction, comment: comment, in: tx, as: caller)
                } catch var problem as Problem {
                    // Nothing of the selection is kept: say which one refused, and that.
                    problem.detail = "submission \(id.uuidString.lowercased()): \(problem.detail ?? problem.title); none of the \(ids.count) selected was changed"
                    throw problem
                }
            }
        }
        let done = ["approve": "approved", "reject": "rejected", "verify": "verified"][submissionAction.rawValue] ?? ""
        return ConsolePages.redirect(to: "/console/submissions?done=\(done)")
    }
}

struct ReviewQueuePage: ConsolePage {
    struct Row {
        let id, organization, project, milestone, period, value, unit, status, comment, updatedAt: String
        let selectable: Bool
    }

    struct Action {
        let value, label: String
    }

    var title: String { "Review queue" }
    let projects, milestones, organizations, statuses: [ConsoleOption]
    let submissions: [Row]
    let limited: Bool
    let limit: Int
    let actions: [Action]
    let canComment: Bool
}
