import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird
import PQ

/// `/v1/standards`: drafting, versions, review ballots, publication, withdrawal, adoptions.
struct StandardRoutes {
    let env: APIEnvironment

    static let categories = ["product", "packaging", "logistics", "materials", "energy", "other"]
    static let statuses = ["draft", "in_review", "approved", "published", "withdrawn"]
    static let bodyLimit = 1...200_000

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .get, path: "/v1/standards") { request, context in try await list(request, context) },
            Endpoint(method: .post, path: "/v1/standards") { request, context in try await create(request, context) },
            Endpoint(method: .get, path: "/v1/standards/{id}") { _, context in
                let standard = try await visible(context)
                return try jsonResponse(standard)
            },
            Endpoint(method: .post, path: "/v1/standards/{id}/versions") { request, context in try await draft(request, context) },
            Endpoint(method: .post, path: "/v1/standards/{id}/submit") { _, context in try await step(context, .submit) },
            Endpoint(method: .post, path: "/v1/standards/{id}/reviews") { request, context in try await review(request, context) },
            Endpoint(method: .post, path: "/v1/standards/{id}/publish") { _, context in try await step(context, .publish) },
            Endpoint(method: .post, path: "/v1/standards/{id}/withdraw") { _, context in try await step(context, .withdraw) },
            Endpoint(method: .get, path: "/v1/standards/{id}/adoptions") { _, context in
                _ = try context.requireActor()
                let standard = try await visible(context)
                let list = try await env.store.transaction(as: context.actor) { try await $0.adoptions(standard: standard.id, organization: nil) }
                return try jsonResponse(list)
            },
            Endpoint(method: .post, path: "/v1/standards/{id}/adoptions") { request, context in try await adopt(request, context) },
            Endpoint(method: .get, path: "/v1/organizations/{id}/adoptions") { _, context in
                let actor = try context.requireActor()
                let id = try context.uuid("id", what: "the organization")
                try check(Policy.readOrganization(actor, id), "the organization")
                return try jsonResponse(try await env.store.transaction(as: actor) { try await $0.adoptions(standard: nil, organization: id) })
            },
        ]
    }

    /// The standard named by `{id}` as the caller may see it (404 otherwise).
    func visible(_ context: AppRequestContext) async throws -> Standard {
        let id = try context.uuid("id", what: "the standard")
        let quorum = env.settings.approvalQuorum
        guard let standard = try await env.store.transaction(as: context.actor, { try await $0.standard(id: id, quorum: quorum) }) else {
            throw Problems.notFound("the standard")
        }
        return standard
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let page = try PageRequest(request)
        let q = request.uri.queryParameters
        var filter = StandardFilter()
        var errors: [Problem.FieldError] = []
        if let s = q.get("status"), !s.isEmpty {
            if Self.statuses.contains(s) { filter.status = s } else { errors.append(.init(field: "status", message: "must be one of \(Self.statuses.joined(separator: ", "))")) }
        }
        if let c = q.get("category"), !c.isEmpty {
            if Self.categories.contains(c) { filter.category = c } else { errors.append(.init(field: "category", message: "must be one of \(Self.categories.joined(separator: ", "))")) }
        }
        if let i = q.get("issuer"), !i.isEmpty {
            if let id = UUID(uuidString: i) { filter.issuer = id } else { errors.append(.init(field: "issuer", message: "must be an organization id")) }
        }
        if !errors.isEmpty { throw Problems.invalid(errors) }
        let f = filter
        let rows = try await env.store.transaction(as: context.actor) { try await $0.standards(f, after: page.cursor, limit: page.fetchLimit) }
        return try jsonResponse(page.page(rows) { $0.code })
    }

    func create(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try check(Policy.createStandard(actor), "the standard")
        var body = try await JSONBody.read(request, context: context, allowed: ["title", "category", "issuers", "body", "change_note"])
        let title = body.string("title", required: true) { Validate.text($0, 1...200) }
        let category = body.string("category", required: true) { Self.categories.contains($0) ? nil : "must be one of \(Self.categories.joined(separator: ", "))" }
        let issuerTexts = body.strings("issuers") ?? []
        let text = body.string("body", required: true) { Self.bodyLimit.contains($0.count) ? nil : "must be 1 to 200000 characters" }
        let note = body.string("change_note") { $0.count <= 2000 ? nil : "must be at most 2000 characters" } ?? ""
        var issuers: [UUID] = []
        for t in issuerTexts {
            if let id = UUID(uuidString: t) { issuers.append(id) } else { body.fail("issuers", "must hold organization ids") }
        }
        // A member's own organization is an issuer of what it creates.
        if actor.role != .coalitionAdmin, !issuers.contains(actor.organizationID) { issuers.append(actor.organizationID) }
        if issuers.isEmpty { body.fail("issuers", "must name at least one issuing organization") }
        try body.finish()
        let chosen = Array(Set(issuers)).sorted { $0.uuidString < $1.uuidString }
        let quorum = env.settings.approvalQuorum
        let standard = try await env.store.transaction(as: actor) { tx -> Standard in
            // Issuers must be active members or partners. A member cannot read other
            // organizations, so this asks a function that answers only yes or no.
            for issuer in chosen {
                let issuable = try await tx.isIssuableOrganization(issuer)
                if !issuable {
                    throw Problems.invalid("issuers", "\(issuer.uuidString.lowercased()) is not an active member or partner organization")
                }
            }
            let id = try await tx.createStandard(title: title!, category: category!, issuers: chosen, body: text!, changeNote: note, actor: actor)
            return try await tx.standard(id: id, quorum: quorum)!
        }
        return try jsonResponse(standard, status: .created, headers: [.location: "/v1/standards/\(standard.id.uuidString.lowercased())"])
    }

    /// Checks visibility, the actor's right and the lifecycle, with the standard locked.
    func locked<T: Sendable>(
        _ context: AppRequestContext, _ action: StandardAction, _ body: @Sendable (StoreTransaction, LockedStandard, Actor) async throws -> T
    ) async throws -> (T, Standard) {
        let actor = try context.requireActor()
        let visibleStandard = try await visible(context)
        let isIssuer = visibleStandard.issuers.contains(actor.organizationID)
        switch action {
        case .newVersion, .submit: try check(Policy.editStandard(actor, isIssuer: isIssuer), "the standard")
        case .review, .publish, .withdraw: try check(Policy.governStandard(actor), "the standard")
        }
        let quorum = env.settings.approvalQuorum
        return try await env.store.transaction(as: actor) { tx in
            guard let s = try await tx.lockStandard(id: visibleStandard.id) else { throw Problems.notFound("the standard") }
            guard s.state.allowedActions.contains(action) else {
                throw Problem(status: 409, title: "Conflict", detail: s.state.refusal(action), type: "urn:coalition:problem:illegal-transition")
            }
            let result = try await body(tx, s, actor)
            return (result, try await tx.standard(id: s.id, quorum: quorum)!)
        }
    }

    func draft(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        var body = try await JSONBody.read(request, context: context, allowed: ["body", "change_note"])
        let text = body.string("body", required: true) { Self.bodyLimit.contains($0.count) ? nil : "must be 1 to 200000 characters" }
        let note = body.string("change_note") { $0.count <= 2000 ? nil : "must be at most 2000 characters" } ?? ""
        try body.finish()
        let (_, standard) = try await locked(context, .newVersion) { tx, s, actor in
            try await tx.saveDraft(s, body: text!, changeNote: note, actor: actor)
        }
        return try jsonResponse(standard, status: .created)
    }

    func step(_ context: AppRequestContext, _ action: StandardAction) async throws -> Response {
        let (_, standard) = try await locked(context, action) { tx, s, _ in
            switch action {
            case .submit: try await tx.submitStandard(s)
            case .publish: try await tx.publishStandard(s)
            case .withdraw: try await tx.withdrawStandard(s)
            default: break
            }
        }
        return try jsonResponse(standard)
    }

    func review(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let ballot = try await ReviewDecision.read(request, context: context)
        let quorum = env.settings.approvalQuorum
        let (_, standard) = try await locked(context, .review) { tx, s, actor in
            try await tx.castReview(s, decision: ballot.approve ? "approve" : "reject", comment: ballot.comment, configuredQuorum: quorum, actor: actor)
        }
        return try jsonResponse(standard, status: .created)
    }

    func adopt(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let standard = try await visible(context)
        try check(Policy.adopt(actor), "the standard")
        var body = try await JSONBody.read(request, context: context, allowed: ["version_number", "adopted_on", "evidence_url"])
        let version = body.integer("version_number", required: true, range: 1...1_000_000)
        let adoptedOn = body.date("adopted_on", required: true)
        let evidence = body.string("evidence_url") { ($0.hasPrefix("https://") || $0.hasPrefix("http://")) && $0.count <= 2000 ? nil : "must be an http or https URL of at most 2000 characters" }
        try body.finish()
        let adoption = try await env.store.transaction(as: actor) { tx -> Adoption in
            let status = try await tx.versionStatus(standard: standard.id, number: version!)
            guard status == .published else {
                throw Problems.invalid("version_number", "version \(version!) of \(standard.code) is \(status?.rawValue ?? "not a version of it"); only the published version can be adopted")
            }
            guard let adoption = try await tx.adopt(standard: standard.id, version: version!, adoptedOn: adoptedOn!, evidenceURL: evidence, actor: actor) else {
                throw Problem(status: 409, title: "Conflict", detail: "your organization adopted version \(version!) of \(standard.code) already",
                              type: "urn:coalition:problem:conflict")
            }
            return adoption
        }
        return try jsonResponse(adoption, status: .created)
    }
}
