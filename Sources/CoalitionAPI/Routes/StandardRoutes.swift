import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird
import PQ

/// `/v1/standards`: drafting, versions, review ballots, publication, withdrawal, adoptions.
struct StandardRoutes {
    let env: APIEnvironment

    var endpoints: [Endpoint] {
        [
            .anyone(.get, "/v1/standards", list),
            .writer(.post, "/v1/standards", create),
            .anyone(.get, "/v1/standards/{id}") { _, context in
                try jsonResponse(try await visible(context.caller, id: try context.uuid("id", what: "the standard")))
            },
            .writer(.post, "/v1/standards/{id}/versions") { request, context in
                let seen = try await authorize(context, .newVersion)
                let draft = try await StandardDraft.read(request, limit: context.bodyLimit)
                return try await apply(.newVersion, to: seen, as: context.caller, status: .created) { tx, s, caller in
                    _ = try await tx.saveDraft(s, body: draft.body, changeNote: draft.changeNote, caller: caller)
                }
            },
            .writer(.post, "/v1/standards/{id}/submit") { _, context in
                try await step(context, .submit) { tx, s, _ in try await tx.submitStandard(s) }
            },
            .writer(.post, "/v1/standards/{id}/reviews") { request, context in
                let seen = try await authorize(context, .review)
                let decision = try await ReviewDecision.read(request, limit: context.bodyLimit)
                let quorum = env.settings.approvalQuorum
                return try await apply(.review, to: seen, as: context.caller, status: .created) { tx, s, caller in
                    _ = try await tx.castReview(s, decision: decision.verdict, comment: decision.comment, configuredQuorum: quorum, caller: caller)
                }
            },
            .writer(.post, "/v1/standards/{id}/publish") { _, context in
                try await step(context, .publish) { tx, s, _ in try await tx.publishStandard(s) }
            },
            .writer(.post, "/v1/standards/{id}/withdraw") { _, context in
                try await step(context, .withdraw) { tx, s, _ in try await tx.withdrawStandard(s) }
            },
            .caller(.get, "/v1/standards/{id}/adoptions") { _, context in
                let standard = try await visible(context.caller, id: try context.uuid("id", what: "the standard"))
                return try jsonResponse(try await env.store.transaction(as: context.caller) { try await $0.adoptions(standard: standard.id, organization: nil) })
            },
            .writer(.post, "/v1/standards/{id}/adoptions", adopt),
            .caller(.get, "/v1/organizations/{id}/adoptions") { _, context in
                let id = try context.uuid("id", what: "the organization")
                try check(Policy.readOrganization(context.caller, id), "the organization")
                return try jsonResponse(try await env.store.transaction(as: context.caller) { try await $0.adoptions(standard: nil, organization: id) })
            },
        ]
    }

    /// The standard as the caller may see it (404 otherwise); anonymous callers see published ones.
    func visible(_ caller: Caller?, id: UUID) async throws -> Standard {
        let quorum = env.settings.approvalQuorum
        guard let standard = try await env.store.transaction(as: caller, { try await $0.standard(id: id, quorum: quorum) }) else {
            throw Problems.notFound("the standard")
        }
        return standard
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let query = try StandardQuery(request)
        let rows = try await env.store.transaction(as: context.caller) { try await $0.standards(query.filter, after: query.page.after, limit: query.page.fetchLimit) }
        return try jsonResponse(query.page.page(rows) { $0.code })
    }

    func create(_ request: Request, _ context: CallerContext) async throws -> Response {
        let caller = context.caller
        try check(Policy.createStandard(caller), "the standard")
        let new = try await NewStandard.read(request, limit: context.bodyLimit, caller: caller)
        let quorum = env.settings.approvalQuorum
        return try await env.store.answering(as: caller) { tx in
            // Issuers must be active members or partners. A member cannot read other
            // organizations, so this asks a function that answers only yes or no.
            for issuer in new.issuers where !(try await tx.isIssuableOrganization(issuer)) {
                throw Problems.invalid("issuers", "\(issuer.uuidString.lowercased()) is not an active member or partner organization")
            }
            let id = try await tx.createStandard(
                title: new.title, category: new.category, issuers: new.issuers, body: new.body, changeNote: new.changeNote, caller: caller)
            guard let standard = try await tx.standard(id: id, quorum: quorum) else { throw Problems.notFound("the standard") }
            return try jsonResponse(standard, status: .created, headers: [.location: "/v1/standards/\(standard.id.uuidString.lowercased())"])
        }
    }

    /// A lifecycle step without a body: `authorize`, then `apply`.
    func step(
        _ context: CallerContext, _ action: StandardAction, _ body: @Sendable (StoreTransaction, LockedStandard, Caller) async throws -> Void
    ) async throws -> Response {
        try await apply(action, to: try await authorize(context, action), as: context.caller, body)
    }

    func authorize(_ context: CallerContext, _ action: StandardAction) async throws -> Standard {
        try await authorize(context.caller, id: try context.uuid("id", what: "the standard"), action)
    }

    /// The standard, if the caller sees it (404) and may take `action` on it (403): asked
    /// before a body is read.
    func authorize(_ caller: Caller, id: UUID, _ action: StandardAction) async throws -> Standard {
        let seen = try await visible(caller, id: id)
        switch action {
        case .newVersion, .submit: try check(Policy.editStandard(caller, isIssuer: seen.issuers.contains(caller.organizationID)), "the standard")
        case .review, .publish, .withdraw: try check(Policy.governStandard(caller), "the standard")
        }
        return seen
    }

    /// `applied`, answered as JSON.
    func apply(
        _ action: StandardAction, to seen: Standard, as caller: Caller, status: HTTPResponse.Status = .ok,
        _ body: @Sendable (StoreTransaction, LockedStandard, Caller) async throws -> Void
    ) async throws -> Response {
        try await env.store.answering(as: caller) { tx in
            try jsonResponse(try await applied(action, to: seen, in: tx, as: caller, body), status: status)
        }
    }

    /// Runs `body` with the standard locked, if its state allows `action` (409 otherwise), and
    /// returns the standard as it is then.
    func applied(
        _ action: StandardAction, to seen: Standard, in tx: StoreTransaction, as caller: Caller,
        _ body: @Sendable (StoreTransaction, LockedStandard, Caller) async throws -> Void
    ) async throws -> Standard {
        guard let s = try await tx.lockStandard(id: seen.id) else { throw Problems.notFound("the standard") }
        guard s.state.allowedActions.contains(action) else { throw Problems.illegalTransition(s.state.refusal(action)) }
        try await body(tx, s, caller)
        guard let standard = try await tx.standard(id: s.id, quorum: env.settings.approvalQuorum) else { throw Problems.notFound("the standard") }
        return standard
    }

    func adopt(_ request: Request, _ context: CallerContext) async throws -> Response {
        let caller = context.caller
        let standard = try await visible(caller, id: try context.uuid("id", what: "the standard"))
        try check(Policy.adopt(caller), "the standard")
        let new = try await NewAdoption.read(request, limit: context.bodyLimit)
        return try await env.store.answering(as: caller) { tx in
            try jsonResponse(try await adopted(new, of: standard, in: tx, as: caller), status: .created)
        }
    }

    /// The caller's organization adopts the published version `new` names (422 for another
    /// version, 409 if it adopted it already).
    func adopted(_ new: NewAdoption, of standard: Standard, in tx: StoreTransaction, as caller: Caller) async throws -> Adoption {
        let status = try await tx.versionStatus(standard: standard.id, number: new.version)
        guard status == .published else {
            throw Problems.invalid(
                "version_number",
                "version \(new.version) of \(standard.code) is \(status?.rawValue ?? "not a version of it"); only the published version can be adopted")
        }
        guard let adoption = try await tx.adopt(standard: standard.id, version: new.version, adoptedOn: new.adoptedOn, evidenceURL: new.evidenceURL, caller: caller) else {
            throw Problem(status: 409, title: "Conflict", detail: "your organization adopted version \(new.version) of \(standard.code) already",
                          type: Problems.conflictType)
        }
        return adoption
    }
}
