import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// `POST /v1/standards`: `{title, category, issuers?, body, change_note?}`. A member's own
/// organization always issues what it creates.
struct NewStandard {
    var title: String
    var category: StandardCategory
    var issuers: [UUID]
    var body: String
    var changeNote: String

    static func read(_ request: Request, limit: Int, caller: Caller) async throws -> NewStandard {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["title", "category", "issuers", "body", "change_note"])
        let title = body.string("title", required: true) { Validate.text($0, Limits.standardTitle) }
        let category = body.enumeration("category", StandardCategory.self, required: true)
        var issuers = body.uuids("issuers", "organization ids") ?? []
        let text = body.string("body", required: true) { Validate.length($0, Limits.standardBody) }
        let note = body.string("change_note") { Validate.length($0, Limits.changeNote) } ?? ""
        if caller.role != .coalitionAdmin, !issuers.contains(caller.organizationID) { issuers.append(caller.organizationID) }
        issuers = Array(Set(issuers))
        if issuers.isEmpty { body.fail("issuers", "must name at least one issuing organization") }
        if issuers.count > Limits.issuers.upperBound { body.fail("issuers", "may name at most \(Limits.issuers.upperBound) organizations") }
        let (t, c, b) = try body.finish(title, category, text)
        return NewStandard(title: t, category: c, issuers: issuers.sorted { $0.uuidString < $1.uuidString }, body: b, changeNote: note)
    }
}

/// `POST /v1/standards/{id}/versions`: `{body, change_note?}`.
struct StandardDraft {
    var body: String
    var changeNote: String

    static func read(_ request: Request, limit: Int) async throws -> StandardDraft {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["body", "change_note"])
        let text = body.string("body", required: true) { Validate.length($0, Limits.standardBody) }
        let note = body.string("change_note") { Validate.length($0, Limits.changeNote) } ?? ""
        return StandardDraft(body: try body.finish(text), changeNote: note)
    }

    /// The same draft from a console form.
    static func read(_ form: ConsoleForm) throws -> StandardDraft {
        var fields = ConsoleFields(form)
        let text = fields.string("body", required: true) { Validate.length($0, Limits.standardBody) }
        let note = fields.string("change_note") { Validate.length($0, Limits.changeNote) } ?? ""
        try fields.finish()
        return StandardDraft(body: text!, changeNote: note)
    }
}

/// `POST /v1/standards/{id}/adoptions`: `{version_number, adopted_on, evidence_url?}`.
struct NewAdoption {
    var version: Int
    var adoptedOn: CalendarDate
    var evidenceURL: String?

    static func read(_ request: Request, limit: Int) async throws -> NewAdoption {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["version_number", "adopted_on", "evidence_url"])
        let version = body.integer("version_number", required: true, range: 1...1_000_000)
        let adoptedOn = body.date("adopted_on", required: true)
        let evidence = body.string("evidence_url", check: Validate.url)
        let (v, a) = try body.finish(version, adoptedOn)
        return NewAdoption(version: v, adoptedOn: a, evidenceURL: evidence)
    }

    /// The same declaration from a console form.
    static func read(_ form: ConsoleForm) throws -> NewAdoption {
        var fields = ConsoleFields(form)
        let version = fields.integer("version_number", required: true, range: 1...1_000_000)
        let adoptedOn = fields.date("adopted_on", required: true)
        let evidence = fields.string("evidence_url", check: Validate.url)
        try fields.finish()
        return NewAdoption(version: version!, adoptedOn: adoptedOn!, evidenceURL: evidence)
    }
}

/// `GET /v1/standards?status=&category=&issuer=&limit=&cursor=`.
struct StandardQuery {
    var filter: StandardFilter
    var page: PageRequest<String>

    init(_ request: Request) throws {
        var query = QueryReader(request)
        filter = StandardFilter()
        filter.status = query.enumeration("status", StandardStatus.self)
        filter.category = query.enumeration("category", StandardCategory.self)
        filter.issuer = query.uuid("issuer", "an organization id")
        page = query.page(String.self)
        try query.finish()
    }
}
