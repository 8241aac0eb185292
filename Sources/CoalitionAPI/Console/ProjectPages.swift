import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// `/console/projects`: the projects the caller may see (admins and auditors all, members the
/// ones they take part in), and a project's milestones with progress bars (achieved against
/// target, forecast) and the submissions behind them.
extension ConsoleRoutes {
    static let projectSubmissionsLimit = 100

    var projectRoutes: [Route] {
        [
            (.get, "/console/projects", page { _, _, session in try await projects(session) }),
            (.get, "/console/projects/{id}", page { _, context, session in
                try await project(try context.uuid("id", what: "the project"), session)
            }),
        ]
    }

    func projects(_ session: ConsoleSession) async throws -> Response {
        let (rows, names) = try await env.store.read(as: session.caller) { tx in
            (try await tx.projects(after: nil, limit: 500), try await tx.organizationNames())
        }
        let page = ProjectsPage(projects: rows.map { p in
            ProjectsPage.Row(
                href: "/console/projects/\(p.id.uuidString.lowercased())", code: p.code, title: p.title, category: ConsoleText.label(p.category),
                status: ConsoleText.label(p.status), lead: names[p.leadOrganizationID] ?? "a member organization",
                period: "\(p.startsOn) – \(p.endsOn)", participants: p.participants.count)
        })
        return pages.render("projects", page, session: session, current: "/console/projects")
    }

    func project(_ id: UUID, _ session: ConsoleSession) async throws -> Response {
        let caller = session.caller
        let found = try await env.store.read(as: caller) { tx -> (Project, ProjectProgress, [(Submission, Int64)], [Milestone], [UUID: String])? in
            guard let project = try await tx.project(id: id) else { return nil }
            var filter = SubmissionFilter()
            filter.project = project.id
            return (project, try await tx.progress(project: project, today: .today()),
                    try await tx.submissions(filter, after: nil, limit: Self.projectSubmissionsLimit),
                    try await tx.milestones(project: project.id), try await tx.organizationNames())
        }
        guard let (project, progress, submissions, milestones, names) = found else { throw Problems.notFound("the project") }
        try check(Policy.readProject(caller, project), "the project")
        let titles = Dictionary(milestones.map { ($0.id, $0.title) }, uniquingKeysWith: { a, _ in a })
        let page = ProjectPage(
            title: project.title, code: project.code, description: project.description, status: ConsoleText.label(project.status),
            lead: names[project.leadOrganizationID] ?? "a member organization",
            participants: ConsoleText.names(project.participants, names), period: "\(project.startsOn) – \(project.endsOn)",
            sdgs: project.sdgs.map(String.init).joined(separator: ", "), asOf: progress.asOf.description,
            milestones: progress.milestones.map { m in
                let percent = Decimal(string: m.percent) ?? 0
                return ProjectPage.MilestoneRow(
                    id: m.milestoneID.uuidString.lowercased(), title: m.title, metric: m.metric, unit: m.unit, target: m.target, achieved: m.achieved,
                    percent: ConsoleText.rounded(percent), bar: ConsoleText.rounded(min(max(percent, 0), 100)),
                    forecast: ConsoleText.label(m.status), behind: m.status == .behind || m.status == .missed, dueOn: m.dueOn.description,
                    counted: m.submissionsCounted)
            },
            submissions: submissions.map { (s, _) in
                ProjectPage.SubmissionRow(
                    organization: names[s.organizationID] ?? "a member organization", milestone: titles[s.milestoneID] ?? "",
                    period: "\(s.periodStart) – \(s.periodEnd)", value: "\(s.value) \(s.unit)", status: ConsoleText.label(s.status))
            },
            limited: submissions.count == Self.projectSubmissionsLimit, limit: Self.projectSubmissionsLimit)
        return pages.render("project", page, session: session, current: "/console/projects")
    }
}

struct ProjectsPage: ConsolePage {
    struct Row {
        let href, code, title, category, status, lead, period: String
        let participants: Int
    }

    var title: String { "Projects" }
    let projects: [Row]
}

struct ProjectPage: ConsolePage {
    struct MilestoneRow {
        let id, title, metric, unit, target, achieved, percent, bar, forecast: String
        let behind: Bool
        let dueOn: String
        let counted: Int
    }

    struct SubmissionRow {
        let organization, milestone, period, value, status: String
    }

    let title, code, description, status, lead, participants, period, sdgs, asOf: String
    let milestones: [MilestoneRow]
    let submissions: [SubmissionRow]
    let limited: Bool
    let limit: Int
}
