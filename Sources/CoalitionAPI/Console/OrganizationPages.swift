import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/console/organizations` (admins and auditors): members and partners, and an organization's
/// users, adoptions and contributions. `/console/organization` (members): the same page of the
/// caller's own organization with its submissions, a submission form and a CSV upload that
/// goes through the bulk path (`BulkBatch`) and shows each rejected row.
extension ConsoleRoutes {
    static let uploadPath = "/console/organization/uploads"
    /// A file uploaded from a browser is read whole before it is parsed; larger files go
    /// through the CLI, which streams (`coalition upload`).
    static let uploadMaxBytes = 8 << 20
    static let ownSubmissionsLimit = 100

    var organizationRoutes: [Route] {
        [
            (.get, "/console/organizations", page { _, _, session in try await organizations(session) }),
            (.get, "/console/organizations/{id}", page { _, context, session in
                try await organization(try context.uuid("id", what: "the organization"), session, current: "/console/organizations")
            }),
            (.get, "/console/organization", page { request, _, session in
                try await organization(session.caller.organizationID, session, current: "/console/organization", notice: Self.notice(request))
            }),
            (.post, "/console/organization/submissions", form(admits: Policy.reportProgress) { _, _, session, form in
                try await submit(form, session)
            }),
            (.post, Self.uploadPath, upload),
        ]
    }

    func organizations(_ session: ConsoleSession) async throws -> Response {
        guard Policy.listsAllOrganizations(session.caller) else {
            throw Problems.forbidden("only coalition admins and auditors list every organization; your own is under My organization")
        }
        let rows = try await env.store.read(as: session.caller) { try await $0.organizations(after: nil, limit: 500) }
        let page = OrganizationsPage(organizations: rows.map { o in
            OrganizationsPage.Row(
                href: "/console/organizations/\(o.id.uuidString.lowercased())", name: o.name, slug: o.slug, kind: ConsoleText.label(o.kind),
                sector: o.sector, status: ConsoleText.label(o.status), joinedOn: o.joinedOn.description)
        })
        return pages.render("organizations", page, session: session, current: "/console/organizations")
    }

    func organization(
        _ id: UUID, _ session: ConsoleSession, current: String, notice: String? = nil, upload: OrganizationPage.Upload? = nil
    ) async throws -> Response {
        let caller = session.caller
        try check(Policy.readOrganization(caller, id), "the organization")
        let own = id == caller.organizationID && caller.role.isMember
        let listsUsers = Policy.listUsers(caller, organizationID: id) == .allowed
        let found = try await env.store.read(as: caller) { tx -> OrganizationPage? in
            guard let organization = try await tx.organization(id: id) else { return nil }
            let users = listsUsers ? try await tx.users(organizationID: id, after: nil, limit: 500) : []
            let adoptions = try await tx.adoptions(standard: nil, organization: id)
            let standards = try await tx.standards(StandardFilter(), after: nil, limit: 500)
            let totals = try await tx.organizationTotals(organization: id, from: nil, to: nil)
            var submissions: [OrganizationPage.SubmissionRow] = []
            var milestones: [ConsoleOption] = []
            if own {
                var filter = SubmissionFilter()
                filter.organization = id
                let projects = try await tx.projects(after: nil, limit: 500)
                let codes = Dictionary(projects.map { ($0.id, $0.code) }, uniquingKeysWith: { a, _ in a })
                let all = try await tx.milestones()
                let titles = Dictionary(all.map { ($0.id, $0.title) }, uniquingKeysWith: { a, _ in a })
                submissions = try await tx.submissions(filter, after: nil, limit: Self.ownSubmissionsLimit).map { (s, _) in
                    OrganizationPage.SubmissionRow(
                        project: codes[s.projectID] ?? "", milestone: titles[s.milestoneID] ?? "", period: "\(s.periodStart) – \(s.periodEnd)",
                        value: "\(s.value) \(s.unit)", status: ConsoleText.label(s.status), comment: s.reviewComment ?? "")
                }
                let participating = Set(projects.filter { $0.participants.contains(id) }.map(\.id))
                milestones = all.filter { participating.contains($0.projectID) && $0.status == .open }.map {
                    ConsoleOption(value: $0.id.uuidString.lowercased(), label: "\(codes[$0.projectID] ?? "") · \($0.title) (\($0.unit))", selected: false)
                }
            }
            let codes = Dictionary(standards.map { ($0.id, ($0.code, $0.title)) }, uniquingKeysWith: { a, _ in a })
            return OrganizationPage(
                title: organization.name, slug: organization.slug, kind: ConsoleText.label(organization.kind), sector: organization.sector,
                status: ConsoleText.label(organization.status), joinedOn: organization.joinedOn.description,
                users: users.map { OrganizationPage.UserRow(name: $0.displayName, email: $0.email, role: ConsoleText.label($0.role), status: ConsoleText.label($0.status)) },
                listsUsers: listsUsers,
                adoptions: adoptions.map {
                    OrganizationPage.AdoptionRow(
                        href: "/console/standards/\($0.standardID.uuidString.lowercased())", code: codes[$0.standardID]?.0 ?? "",
                        standard: codes[$0.standardID]?.1 ?? "a standard", version: $0.versionNumber, adoptedOn: $0.adoptedOn.description)
                },
                contributions: totals.map {
                    OrganizationPage.Contribution(metric: $0.metric, year: String($0.period.year), total: $0.total, unit: $0.unit, submissions: $0.submissions)
                },
                own: own, submissions: submissions, submissionsLimited: submissions.count == Self.ownSubmissionsLimit,
                milestones: milestones, reports: own && Policy.reportProgress(caller) == .allowed, upload: upload,
                uploadMaxMiB: Self.uploadMaxBytes >> 20, today: CalendarDate.today().description)
        }
        guard let found else { throw Problems.notFound("the organization") }
        return pages.render("organization", found, session: session, current: current, notice: notice)
    }

    /// One submission from the form: the API's `SubmissionRoutes.submitted`.
    func submit(_ form: ConsoleForm, _ session: ConsoleSession) async throws -> Response {
        var fields = ConsoleFields(form)
        let milestone = fields.string("milestone", required: true).flatMap { text -> UUID? in
            guard let id = UUID(uuidString: text) else {
                fields.fail("milestone", "choose one of the milestones listed")
                return nil
            }
            return id
        }
        // Read as text (an empty field as absent); `SubmissionRules` judges the values.
        let draft = SubmissionDraft(
            periodStart: fields.string("period_start"), periodEnd: fields.string("period_end"),
            value: fields.string("value").map { $0.trimmingCharacters(in: .whitespaces) }, unit: fields.string("unit"),
            notes: fields.string("notes"), evidenceURL: fields.string("evidence_url"), externalRef: fields.string("external_ref"))
        try fields.finish()
        let outcome = try await env.store.transaction(as: session.caller) { tx in
            try await SubmissionRoutes(env: env).submitted(draft, milestone: milestone!, in: tx, as: session.caller)
        }
        switch outcome {
        case .created: return ConsolePages.redirect(to: "/console/organization?done=submission")
        case .unchanged: return ConsolePages.redirect(to: "/console/organization?done=unchanged")
        case .conflict(let existing):
            throw Problem(
                status: 409, title: "Conflict",
                detail: "a live submission (\(existing.uuidString.lowercased())) holds another value for this milestone and period; withdraw it, or ask for its rejection, then submit again",
                type: Problems.conflictType, errors: [.init(field: "value", message: "differs from the live submission")])
        }
    }

    /// A CSV file from the upload form (`multipart/form-data`): who may upload is asked before
    /// a byte is read, the file is read up to `uploadMaxBytes`, the form's CSRF token checked,
    /// and the rows go through the bulk path; the page answers with the report's row errors.
    func upload(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await page { request, _, session in
            let caller = session.caller
            try check(Policy.reportProgress(caller), "the page")
            let uploader = try await BulkRoutes.uploader(caller, store: env.store)
            let parts: ConsoleUpload
            do {
                parts = try await ConsoleUpload.read(request, limit: Self.uploadMaxBytes)
            } catch let refusal as ConsoleUpload.Refusal {
                guard refusal == .tooLarge else { throw Self.notAForm }
                throw Problem(
                    status: 413, title: "Content Too Large",
                    detail: "the file is larger than \(Self.uploadMaxBytes >> 20) MiB; upload it with the coalition CLI, which streams it")
            }
            guard session.accepts(csrf: parts.field("_csrf")) else { throw Self.expiredForm }
            guard let file = parts.file("file"), !file.isEmpty else { throw Problems.invalid("file", "choose a CSV file to upload") }
            var batch = BulkBatch(
                plan: BulkPlan(organizationSlug: uploader.slug, today: .today(), options: BulkOptions()), format: .csv,
                settings: env.settings, projects: ProjectLookup(store: env.store, caller: caller))
            try await batch.feed(ByteBuffer(bytes: file))
            try await batch.finish()
            let (report, _) = try await batch.settle(in: env.store, as: caller) { report, _, _ in report }
            let shown = OrganizationPage.Upload(
                filename: parts.filename("file") ?? "the file", accepted: report.accepted, unchanged: report.unchanged, rejected: report.rejected,
                errors: report.errors.map { OrganizationPage.RowError(line: $0.line, field: $0.field, message: $0.message) },
                omitted: report.errorsOmitted > 0 ? report.errorsOmitted : nil)
            return try await organization(caller.organizationID, session, current: "/console/organization", upload: shown)
        }(request, context)
    }
}

struct OrganizationsPage: ConsolePage {
    struct Row {
        let href, name, slug, kind, sector, status, joinedOn: String
    }

    var title: String { "Organizations" }
    let organizations: [Row]
}

struct OrganizationPage: ConsolePage {
    struct UserRow {
        let name, email, role, status: String
    }

    struct AdoptionRow {
        let href, code, standard: String
        let version: Int
        let adoptedOn: String
    }

    struct Contribution {
        let metric, year, total, unit: String
        let submissions: Int
    }

    struct SubmissionRow {
        let project, milestone, period, value, status, comment: String
    }

    struct RowError {
        let line: Int
        let field, message: String
    }

    struct Upload {
        let filename: String
        let accepted, unchanged, rejected: Int
        let errors: [RowError]
        /// Row errors past the report's limit; nil when it lists them all.
        let omitted: Int?
    }

    let title, slug, kind, sector, status, joinedOn: String
    let users: [UserRow]
    let listsUsers: Bool
    let adoptions: [AdoptionRow]
    let contributions: [Contribution]
    let own: Bool
    let submissions: [SubmissionRow]
    let submissionsLimited: Bool
    let milestones: [ConsoleOption]
    let reports: Bool
    let upload: Upload?
    let uploadMaxMiB: Int
    let today: String
}

/// A `multipart/form-data` body read whole up to a bound: its fields and files by name.
struct ConsoleUpload: Sendable {
    struct Part: Sendable {
        let name: String
        let filename: String?
        let content: [UInt8]
    }

    enum Refusal: Error, Equatable {
        case notMultipart, tooLarge, malformed
    }

    static let maxParts = 20
    let parts: [Part]

    func field(_ name: String) -> String? {
        parts.first { $0.name == name && $0.filename == nil }.map { String(decoding: $0.content, as: UTF8.self) }
    }

    func file(_ name: String) -> [UInt8]? { parts.first { $0.name == name && $0.filename != nil }?.content }
    func filename(_ name: String) -> String? { parts.first { $0.name == name && $0.filename != nil }?.filename }

    /// The body's bound for a file of up to `file` bytes: the other fields and the part
    /// headers take a little more.
    static func limit(file: Int) -> Int { file + 64 * 1024 }

    static func read(_ request: Request, limit file: Int) async throws -> ConsoleUpload {
        guard let boundary = boundary(request.headers[.contentType] ?? "") else { throw Refusal.notMultipart }
        let limit = limit(file: file)
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw Refusal.tooLarge }
        var bytes: [UInt8] = []
        for try await chunk in request.body {
            guard bytes.count + chunk.readableBytes <= limit else { throw Refusal.tooLarge }
            bytes += chunk.readableBytesView
        }
        return try parse(bytes, boundary: boundary)
    }

    /// The boundary of a `multipart/form-data` media type (RFC 7578), quoted or not.
    static func boundary(_ contentType: String) -> String? {
        let parameters = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parameters.first?.lowercased() == "multipart/form-data" else { return nil }
        for parameter in parameters.dropFirst() where parameter.lowercased().hasPrefix("boundary=") {
            var value = parameter.dropFirst("boundary=".count)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
            return (1...70).contains(value.count) ? String(value) : nil
        }
        return nil
    }

    static func parse(_ body: [UInt8], boundary: String) throws -> ConsoleUpload {
        let delimiter = Array("--\(boundary)".utf8)
        let separator = Array("\r\n--\(boundary)".utf8)
        guard body.starts(with: delimiter) else { throw Refusal.malformed }
        var parts: [Part] = []
        var index = delimiter.count
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if body[index...].starts(with: Array("--".utf8)) { break }
            guard body[index...].starts(with: Array("\r\n".utf8)) else { throw Refusal.malformed }
            index += 2
            guard let headerEnd = find(Array("\r\n\r\n".utf8), in: body, from: index) else { throw Refusal.malformed }
            let headers = String(decoding: body[index..<headerEnd], as: UTF8.self)
            guard let end = find(separator, in: body, from: headerEnd + 4) else { throw Refusal.malformed }
            guard parts.count < maxParts, let disposition = disposition(headers) else { throw Refusal.malformed }
            parts.append(Part(name: disposition.name, filename: disposition.filename, content: Array(body[(headerEnd + 4)..<end])))
            index = end + separator.count
        }
        return ConsoleUpload(parts: parts)
    }

    /// `name` and `filename` of a part's `Content-Disposition: form-data` header.
    static func disposition(_ headers: String) -> (name: String, filename: String?)? {
        for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
            var name: String?
            var filename: String?
            for parameter in line.split(separator: ";").dropFirst() {
                let pair = parameter.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let value = pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") && pair[1].count >= 2 ? String(pair[1].dropFirst().dropLast()) : String(pair[1])
                switch pair[0].lowercased() {
                case "name": name = value
                case "filename": filename = value
                default: break
                }
            }
            return name.map { ($0, filename) }
        }
        return nil
    }

    /// The first index of `needle` in `haystack` at or after `start`, by Knuth–Morris–Pratt:
    /// linear in the body whatever the client makes of it. (The boundary is the client's: a
    /// byte-by-byte compare at each position costs the needle's length per byte of a body of
    /// "-" under a boundary of dashes.)
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        let m = needle.count
        guard m > 0, start >= 0, start <= haystack.count - m else { return nil }
        // fallback[i]: the length of the longest proper prefix of needle[0...i] that is also its suffix.
        var fallback = [Int](repeating: 0, count: m)
        var k = 0
        for i in 1..<m {
            while k > 0, needle[i] != needle[k] { k = fallback[k - 1] }
            if needle[i] == needle[k] { k += 1 }
            fallback[i] = k
        }
        var matched = 0
        for i in start..<haystack.count {
            while matched > 0, haystack[i] != needle[matched] { matched = fallback[matched - 1] }
            if haystack[i] == needle[matched] { matched += 1 }
            if matched == m { return i - m + 1 }
        }
        return nil
    }
}
