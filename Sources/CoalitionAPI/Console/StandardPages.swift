import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// `/console/standards`: the list with filters, a standard's page (issuers, versions, a line
/// diff between any two, the ballot, adoptions) and its forms. Every action goes through the
/// same steps as `/v1/standards` (`StandardRoutes`): the same policy, lock and state machine.
extension ConsoleRoutes {
    var standardRoutes: [Route] {
        [
            (.get, "/console/standards", page { request, _, session in try await standards(request, session) }),
            (.get, "/console/standards/{id}", page { request, context, session in
                try await standard(try context.uuid("id", what: "the standard"), request, session)
            }),
            (.post, "/console/standards/{id}/reviews", standardStep(.review, done: "review") { form, routes, tx, s, caller in
                let decision = try ReviewDecision.read(form)
                _ = try await tx.castReview(s, decision: decision.verdict, comment: decision.comment, configuredQuorum: routes.env.settings.approvalQuorum, caller: caller)
            }),
            (.post, "/console/standards/{id}/publish", standardStep(.publish, done: "published") { _, _, tx, s, _ in try await tx.publishStandard(s) }),
            (.post, "/console/standards/{id}/withdraw", standardStep(.withdraw, done: "withdrawn") { _, _, tx, s, _ in try await tx.withdrawStandard(s) }),
            (.post, "/console/standards/{id}/submit", standardStep(.submit, done: "submitted") { _, _, tx, s, _ in try await tx.submitStandard(s) }),
            (.post, "/console/standards/{id}/versions", standardStep(.newVersion, done: "saved") { form, _, tx, s, caller in
                let draft = try StandardDraft.read(form)
                _ = try await tx.saveDraft(s, body: draft.body, changeNote: draft.changeNote, caller: caller)
            }),
            (.post, "/console/standards/{id}/adoptions", page { request, context, session in
                let api = StandardRoutes(env: env)
                let standard = try await api.visible(session.caller, id: try context.uuid("id", what: "the standard"))
                try check(Policy.adopt(session.caller), "the standard")
                let new = try NewAdoption.read(try await readForm(request, session))
                try await env.store.transaction(as: session.caller) { tx in _ = try await api.adopted(new, of: standard, in: tx, as: session.caller) }
                return ConsolePages.redirect(to: "\(Self.path(standard))?done=adopted")
            }),
        ]
    }

    static func path(_ standard: Standard) -> String { "/console/standards/\(standard.id.uuidString.lowercased())" }

    /// `/console/standards/{id}/versions`: the one console form that may carry a standard's text.
    static func isDraftForm(_ path: String) -> Bool {
        path.hasPrefix("/console/standards/") && path.hasSuffix("/versions") && path.split(separator: "/").count == 4
    }

    /// A form that takes one lifecycle step: authorized (404, 403) before its body is read,
    /// applied under the standard's lock, then back to its page saying what was done.
    func standardStep(
        _ action: StandardAction, done: String,
        _ body: @escaping @Sendable (ConsoleForm, ConsoleRoutes, StoreTransaction, LockedStandard, Caller) async throws -> Void
    ) -> Handler {
        page { request, context, session in
            let api = StandardRoutes(env: env)
            let caller = session.caller
            let seen = try await api.authorize(caller, id: try context.uuid("id", what: "the standard"), action)
            let form = try await readForm(request, session, limit: action == .newVersion ? ConsoleForm.draftMaxBytes : ConsoleForm.maxBytes)
            let routes = self
            try await env.store.transaction(as: caller) { tx in
                _ = try await api.applied(action, to: seen, in: tx, as: caller) { tx, s, caller in try await body(form, routes, tx, s, caller) }
            }
            return ConsolePages.redirect(to: "\(Self.path(seen))?done=\(done)")
        }
    }

    func standards(_ request: Request, _ session: ConsoleSession) async throws -> Response {
        var query = QueryReader(request)
        var filter = StandardFilter()
        filter.status = query.enumeration("status", StandardStatus.self)
        filter.category = query.enumeration("category", StandardCategory.self)
        try query.finish()
        let (rows, names) = try await env.store.read(as: session.caller) { tx in
            (try await tx.standards(filter, after: nil, limit: 200), try await tx.organizationNames())
        }
        let page = StandardsPage(
            statuses: ConsoleOption.all(StandardStatus.self, selected: filter.status),
            categories: ConsoleOption.all(StandardCategory.self, selected: filter.category),
            standards: rows.map { s in
                StandardsPage.Row(
                    href: Self.path(s), code: s.code, title: s.title, category: s.category.rawValue, status: ConsoleText.label(s.status),
                    version: s.currentVersion.map(String.init) ?? "–", issuers: ConsoleText.names(s.issuers, names))
            })
        return pages.render("standards", page, session: session, current: "/console/standards")
    }

    func standard(_ id: UUID, _ request: Request, _ session: ConsoleSession) async throws -> Response {
        let caller = session.caller
        var query = QueryReader(request)
        let from = query.integer("from", range: 1...1_000_000)
        let to = query.integer("to", range: 1...1_000_000)
        try query.finish()
        let standard = try await StandardRoutes(env: env).visible(caller, id: id)
        let (names, adoptions, reviewers) = try await env.store.read(as: caller) { tx in
            (try await tx.organizationNames(), try await tx.adoptions(standard: standard.id, organization: nil),
             try await tx.userNames(standard.reviews.map(\.reviewerID)))
        }
        let isIssuer = standard.issuers.contains(caller.organizationID)
        let may = { (action: StandardAction, access: Access) in standard.allowedActions.contains(action) && access == .allowed }
        let governs = Policy.governStandard(caller)
        let edits = Policy.editStandard(caller, isIssuer: isIssuer)

        // The diff: two versions named, or by default the newest against the one before it.
        let numbers = standard.versions.map(\.number)
        let newer = to.flatMap { numbers.contains($0) ? $0 : nil } ?? numbers.last
        let older = from.flatMap { numbers.contains($0) ? $0 : nil } ?? numbers.dropLast().last
        var diff: StandardPage.Diff?
        var tooDifferent: String?
        if let older, let newer, older != newer,
            let a = standard.versions.first(where: { $0.number == older })?.body, let b = standard.versions.first(where: { $0.number == newer })?.body
        {
            if let lines = LineDiff(from: a, to: b) {
                diff = StandardPage.Diff(
                    from: older, to: newer, added: lines.added, removed: lines.removed,
                    lines: lines.lines.map { line in
                        StandardPage.DiffLine(
                            change: line.change.rawValue, sign: line.change == .added ? "+" : line.change == .removed ? "−" : " ",
                            old: line.oldNumber.map(String.init) ?? "", new: line.newNumber.map(String.init) ?? "", text: line.text)
                    })
            } else {
                tooDifferent = "Versions \(older) and \(newer) differ in more than \(LineDiff.maxChangedLines) lines: too much to compare here."
            }
        }
        let inReview = standard.versions.last { $0.status == .inReview }
        let ballot = inReview.map { version in
            StandardPage.Ballot(
                version: version.number, approvals: standard.reviews.filter { $0.decision == .approve }.count, quorum: standard.quorum ?? 0,
                reviews: standard.reviews.map {
                    StandardPage.Vote(
                        name: reviewers[$0.reviewerID] ?? "a coalition admin", decision: $0.decision.rawValue, comment: $0.comment ?? "",
                        at: ConsoleText.time($0.at))
                })
        }
        let draft = standard.versions.last.flatMap { $0.status == .draft ? $0 : nil }
        let reviewed = standard.reviews.contains { $0.reviewerID == caller.userID }
        let alreadyAdopted = adoptions.contains { $0.organizationID == caller.organizationID && $0.versionNumber == standard.publishedVersion }
        let page = StandardPage(
            title: standard.title, id: standard.id.uuidString.lowercased(), code: standard.code, category: standard.category.rawValue,
            status: ConsoleText.label(standard.status), issuers: ConsoleText.names(standard.issuers, names),
            versions: standard.versions.reversed().map { v in
                StandardPage.Version(
                    number: v.number, status: ConsoleText.label(v.status), changeNote: v.changeNote, createdAt: ConsoleText.time(v.createdAt),
                    reviewComment: v.reviewComment)
            },
            comparable: numbers.count > 1,
            fromOptions: numbers.map { ConsoleOption(value: String($0), label: "version \($0)", selected: $0 == older) },
            toOptions: numbers.map { ConsoleOption(value: String($0), label: "version \($0)", selected: $0 == newer) },
            diff: diff, tooDifferent: tooDifferent, ballot: ballot,
            canReview: may(.review, governs) && inReview != nil && !reviewed, reviewed: reviewed,
            canPublish: may(.publish, governs), canWithdraw: may(.withdraw, governs),
            draft: may(.newVersion, edits) ? StandardPage.Draft(body: draft?.body ?? standard.versions.last?.body ?? "", number: draft?.number) : nil,
            canSubmit: may(.submit, edits),
            adoptions: adoptions.map {
                StandardPage.AdoptionRow(
                    organization: names[$0.organizationID] ?? "a member organization", version: $0.versionNumber, adoptedOn: $0.adoptedOn.description,
                    evidenceURL: $0.evidenceURL)
            },
            adoptable: Policy.adopt(caller) == .allowed && !alreadyAdopted ? standard.publishedVersion : nil,
            today: CalendarDate.today().description)
        return pages.render("standard", page, session: session, current: "/console/standards", notice: Self.notice(request))
    }

    /// What the form before this page did (`?done=`), as one of `notices`.
    static func notice(_ request: Request) -> String? {
        request.uri.queryParameters.get("done").flatMap { notices[$0] }
    }

    /// What a form did, said on the page it returns to (a fixed text per key: a link cannot
    /// make the page say anything else).
    static let notices: [String: String] = [
        "review": "Your review is recorded.", "published": "The approved version is published.",
        "withdrawn": "The standard is withdrawn.", "submitted": "The draft is submitted for review.",
        "saved": "The draft is saved.", "adopted": "Your organization's adoption is declared.",
        "approved": "The selected submissions are approved.", "rejected": "The selected submissions are rejected.",
        "verified": "The selected submissions are verified.", "submission": "Your submission is recorded.",
        "unchanged": "That submission was recorded already; nothing changed.",
    ]
}

struct StandardsPage: ConsolePage {
    struct Row {
        let href, code, title, category, status, version, issuers: String
    }

    var title: String { "Standards" }
    let statuses: [ConsoleOption]
    let categories: [ConsoleOption]
    let standards: [Row]
}

struct StandardPage: ConsolePage {
    struct Version {
        let number: Int
        let status, changeNote, createdAt: String
        let reviewComment: String?
    }

    struct DiffLine {
        let change, sign, old, new, text: String
    }

    struct Diff {
        let from, to, added, removed: Int
        let lines: [DiffLine]
    }

    struct Vote {
        let name, decision, comment, at: String
    }

    struct Ballot {
        let version, approvals, quorum: Int
        let reviews: [Vote]
    }

    struct Draft {
        let body: String
        let number: Int?
    }

    struct AdoptionRow {
        let organization: String
        let version: Int
        let adoptedOn: String
        let evidenceURL: String?
    }

    let title, id, code, category, status, issuers: String
    let versions: [Version]
    let comparable: Bool
    let fromOptions, toOptions: [ConsoleOption]
    let diff: Diff?
    let tooDifferent: String?
    let ballot: Ballot?
    let canReview, reviewed, canPublish, canWithdraw: Bool
    let draft: Draft?
    let canSubmit: Bool
    let adoptions: [AdoptionRow]
    let adoptable: Int?
    let today: String
}

/// An `<option>` of a filter or a choice.
struct ConsoleOption {
    let value: String
    let label: String
    let selected: Bool

    static func all<W: VocabularyWord>(_ type: W.Type, selected: W?) -> [ConsoleOption] {
        W.allCases.map { ConsoleOption(value: $0.rawValue, label: ConsoleText.label($0), selected: $0 == selected) }
    }
}

/// How the console writes values for people.
enum ConsoleText {
    static func label(_ word: some VocabularyWord) -> String {
        word.rawValue.replacingOccurrences(of: "_", with: " ")
    }

    static func names(_ ids: [UUID], _ names: [UUID: String]) -> String {
        ids.map { names[$0] ?? "a member organization" }.sorted().joined(separator: ", ")
    }

    /// A UTC time to the minute: the console shows when, not a timestamp to parse.
    static func time(_ date: Date) -> String {
        let text = ISO8601DateFormatter.string(from: date, timeZone: .gmt, formatOptions: [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate])
        return text.replacingOccurrences(of: "T", with: " ").prefix(16) + " UTC"
    }
}

extension ConsoleText {
    /// A percentage to one decimal place, as people read it.
    static func rounded(_ value: Decimal) -> String {
        var value = value
        var result = Decimal()
        NSDecimalRound(&result, &value, 1, .plain)
        return result.description
    }
}
