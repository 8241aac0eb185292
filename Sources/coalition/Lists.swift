import ArgumentParser
import CoalitionClient
import CoalitionModels
import Foundation

/// `organizations list`.
struct Organizations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Organizations of the coalition.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the organizations you may see.")
        @OptionGroup var server: ServerOption
        @OptionGroup var format: OutputOption

        func run() async throws {
            let items = try await withClient(server) { (c: APIClient) async throws(ClientError) in try await c.organizations() }
            try Output.emit(items, [
                Column("id") { $0.id.uuidString.lowercased() }, Column("slug") { $0.slug }, Column("name") { $0.name },
                Column("kind") { $0.kind }, Column("sector") { $0.sector }, Column("status") { $0.status },
                Column("joined_on") { $0.joinedOn },
            ], format: format.output)
        }
    }
}

/// `projects list`.
struct Projects: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Joint projects.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the projects you may see.")
        @OptionGroup var server: ServerOption
        @OptionGroup var format: OutputOption

        func run() async throws {
            let items = try await withClient(server) { (c: APIClient) async throws(ClientError) in try await c.projects() }
            try Output.emit(items, [
                Column("id") { $0.id.uuidString.lowercased() }, Column("code") { $0.code }, Column("title") { $0.title },
                Column("category") { $0.category }, Column("status") { $0.status }, Column("starts_on") { $0.startsOn },
                Column("ends_on") { $0.endsOn }, Column("participants") { String($0.participants.count) },
            ], format: format.output)
        }
    }
}

/// A project given by id or code.
func resolveProject(_ text: String, _ client: APIClient) async throws(ClientError) -> UUID {
    if let id = UUID(uuidString: text) { return id }
    guard let project = try await client.projects().first(where: { $0.code == text }) else {
        throw ClientError.problem(Problem(status: 404, title: "Not Found", detail: "no project with the code \"\(text)\" is visible to you"))
    }
    return project.id
}

/// A standard given by id or code (`CLC-STD-0001`).
func resolveStandard(_ text: String, _ client: APIClient) async throws(ClientError) -> UUID {
    if let id = UUID(uuidString: text) { return id }
    guard let standard = try await client.standards().first(where: { $0.code.caseInsensitiveCompare(text) == .orderedSame }) else {
        throw ClientError.problem(Problem(status: 404, title: "Not Found", detail: "no standard with the code \"\(text)\" is visible to you"))
    }
    return standard.id
}

/// `milestones list --project CODE_OR_ID`.
struct Milestones: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Milestones of a project.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the milestones of a project.")
        @OptionGroup var server: ServerOption
        @OptionGroup var format: OutputOption
        @Option(help: "The project, by code or id.") var project: String

        func run() async throws {
            let project = self.project
            let items = try await withClient(server) { (c: APIClient) async throws(ClientError) in
                try await c.milestones(project: try await resolveProject(project, c))
            }
            try Output.emit(items, [
                Column("id") { $0.id.uuidString.lowercased() }, Column("key") { $0.key }, Column("title") { $0.title },
                Column("metric") { $0.metric }, Column("target") { $0.targetValue }, Column("unit") { $0.unit },
                Column("due_on") { $0.dueOn }, Column("status") { $0.status },
            ], format: format.output)
        }
    }
}

/// A review decision given as `--approve` or `--reject`.
enum Decision: String, EnumerableFlag {
    case approve, reject
}

/// `standards list|show|review|publish`.
struct Standards: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Shared standards.", subcommands: [List.self, Show.self, Review.self, Publish.self])

    static let columns: [Column<Standard>] = [
        Column("id") { $0.id.uuidString.lowercased() }, Column("code") { $0.code }, Column("title") { $0.title },
        Column("category") { $0.category }, Column("status") { $0.status },
        Column("published_version") { $0.publishedVersion.map(String.init) ?? "" },
    ]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the standards you may see.")
        @OptionGroup var server: ServerOption
        @OptionGroup var format: OutputOption
        @Option(help: "Only standards in this status (draft, in_review, approved, published, withdrawn).") var status: String?
        @Option(help: "Only standards of this category.") var category: String?

        func run() async throws {
            let (status, category) = (self.status, self.category)
            let items = try await withClient(server) { (c: APIClient) async throws(ClientError) in
                try await c.standards(status: status, category: category)
            }
            try Output.emit(items, Standards.columns, format: format.output)
        }
    }

    static func describe(_ s: Standard) -> String {
        var out = """
            code        \(s.code)
            id          \(s.id.uuidString.lowercased())
            title       \(s.title)
            category    \(s.category)
            status      \(s.status)
            issuers     \(s.issuers.map { $0.uuidString.lowercased() }.joined(separator: ", "))
            current     \(s.currentVersion.map(String.init) ?? "-")
            published   \(s.publishedVersion.map(String.init) ?? "-")

            """
        if let quorum = s.quorum { out += "quorum      \(quorum)\n" }
        if !s.allowedActions.isEmpty { out += "actions     \(s.allowedActions.map(\.rawValue).joined(separator: ", "))\n" }
        if !s.versions.isEmpty {
            out += "\nversions\n" + Output.table(
                header: ["number", "status", "created_at", "change_note"],
                rows: s.versions.map { [String($0.number), $0.status.rawValue, ISO8601DateFormatter().string(from: $0.createdAt), $0.changeNote] })
        }
        if !s.reviews.isEmpty {
            out += "\nreviews\n" + Output.table(
                header: ["reviewer", "decision", "at", "comment"],
                rows: s.reviews.map { [$0.reviewerID.uuidString.lowercased(), $0.decision.rawValue, ISO8601DateFormatter().string(from: $0.at), $0.comment ?? ""] })
        }
        return out
    }

    static func emitOne(_ s: Standard, _ format: OutputFormat) throws {
        switch format {
        case .json: try Output.printJSON(s)
        case .csv: try Output.emit([s], columns, format: .csv)
        case .table: Output.write(describe(s))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one standard with its versions and reviews.")
        @OptionGroup var server: ServerOption
        @OptionGroup var format: OutputOption
        @Argument(help: "The standard, by id or code.") var id: String

        func run() async throws {
            let id = self.id
            let s = try await withClient(server) { (c: APIClient) async throws(ClientError) in
                try await c.standard(id: try await resolveStandard(id, c))
            }
            try Standards.emitOne(s, format.output)
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve or reject the version in review (coalition admins).")
        @OptionGroup var server: ServerOption
        @OptionGroup var format: OutputOption
        @Argument(help: "The standard, by id or code.") var id: String
        @Flag(help: "The decision.") var decision: Decision
        @Option(help: "A comment (required to reject).") var comment: String?

        func validate() throws {
            if decision == .reject, (comment ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("--reject needs --comment")
            }
        }

        func run() async throws {
            let (id, decision, comment) = (self.id, self.decision, self.comment)
            let s = try await withClient(server) { (c: APIClient) async throws(ClientError) in
                try await c.reviewStandard(id: try await resolveStandard(id, c), decision: decision.rawValue, comment: comment)
            }
            if format.output == .table { print("\(s.code): \(decision == .approve ? "approved" : "rejected"); the standard is now \(s.status).") } else {
                try Standards.emitOne(s, format.output)
            }
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish the approved version (coalition admins).")
        @OptionGroup var server: ServerOption
        @OptionGroup var format: OutputOption
        @Argument(help: "The standard, by id or code.") var id: String

        func run() async throws {
            let id = self.id
            let s = try await withClient(server) { (c: APIClient) async throws(ClientError) in
                try await c.publishStandard(id: try await resolveStandard(id, c))
            }
            if format.output == .table { print("\(s.code): published version \(s.publishedVersion.map(String.init) ?? "?"); the standard is now \(s.status).") } else {
                try Standards.emitOne(s, format.output)
            }
        }
    }
}

/// `submissions list|review|upload`.
struct Submissions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Progress submissions.", subcommands: [List.self, Review.self, Upload.self])

    static let columns: [Column<Submission>] = [
        Column("id") { $0.id.uuidString.lowercased() }, Column("period_start") { $0.periodStart }, Column("period_end") { $0.periodEnd },
        Column("value") { $0.value }, Column("unit") { $0.unit }, Column("status") { $0.status },
        Column("organization_id") { $0.organizationID.uuidString.lowercased() }, Column("milestone_id") { $0.milestoneID.uuidString.lowercased() },
    ]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the submissions you may see.")
        @OptionGroup var server: ServerOption
        @OptionGroup var format: OutputOption
        @Option(help: "Only submissions of this project (code or id).") var project: String?
        @Option(help: "Only submissions in this status (submitted, approved, rejected, withdrawn, verified).") var status: String?

        func run() async throws {
            let (project, status) = (self.project, self.status)
            let items = try await withClient(server) { (c: APIClient) async throws(ClientError) in
                let projectID: UUID? = if let project { try await resolveProject(project, c) } else { nil }
                return try await c.submissions(project: projectID, status: status)
            }
            try Output.emit(items, Submissions.columns, format: format.output)
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve or reject a submission (coalition admins).")
        @OptionGroup var server: ServerOption
        @OptionGroup var format: OutputOption
        @Argument(help: "The submission id.") var id: String
        @Flag(help: "The decision.") var decision: Decision
        @Option(help: "The review comment.") var comment: String

        func validate() throws {
            guard UUID(uuidString: id) != nil else { throw ValidationError("\"\(id)\" is not a submission id") }
        }

        func run() async throws {
            let (id, decision, comment) = (UUID(uuidString: self.id)!, self.decision, self.comment)
            let s = try await withClient(server) { (c: APIClient) async throws(ClientError) in
                try await c.reviewSubmission(id: id, decision: decision.rawValue, comment: comment)
            }
            switch format.output {
            case .json: try Output.printJSON(s)
            case .csv: try Output.emit([s], Submissions.columns, format: .csv)
            case .table: print("\(s.id.uuidString.lowercased()): \(s.status)")
            }
        }
    }
}

/// `reports summary`.
struct Reports: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Coalition reports.", subcommands: [Summary.self])

    enum Period: String, ExpressibleByArgument, CaseIterable { case year, quarter }

    struct Summary: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Coalition totals per metric and period (public).")
        @OptionGroup var server: ServerOption
        @OptionGroup var format: OutputOption
        @Option(help: "First day, YYYY-MM-DD.") var from: String?
        @Option(help: "Last day, YYYY-MM-DD.") var to: String?
        @Option(help: "Periods: year or quarter.") var by: Period?

        func run() async throws {
            let (from, to, by) = (self.from, self.to, self.by?.rawValue)
            let s = try await withClient(server) { (c: APIClient) async throws(ClientError) in
                try await c.summary(from: from, to: to, by: by)
            }
            let columns: [Column<MetricTotal>] = [
                Column("metric") { $0.metric }, Column("unit") { $0.unit }, Column("aggregation") { $0.aggregation },
                Column("period") { $0.period }, Column("total") { $0.total }, Column("submissions") { String($0.submissions) },
                Column("organizations") { $0.organizations.map(String.init) ?? "" },
            ]
            switch format.output {
            case .json: try Output.printJSON(s)
            case .csv: try Output.emit(s.totals, columns, format: .csv)
            case .table:
                Output.write("""
                    members \(s.members), partners \(s.partners), projects \(s.projects) (\(s.activeProjects) active), \
                    standards \(s.standards), adoptions \(s.adoptions)

                    """)
                if !s.totals.isEmpty { Output.write("\n"); try Output.emit(s.totals, columns, format: .table) }
            }
        }
    }
}
