import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// Members' product footprints (PACT v3 documents) and the PACT clients that may read the
/// published ones: `/v1/footprints…` and `/v1/pact-clients`.
struct FootprintRoutes {
    let env: APIEnvironment

    var endpoints: [Endpoint] {
        [
            .writer(.post, "/v1/footprints", create),
            .writer(.post, Self.bulkPath, createMany),
            .caller(.get, "/v1/footprints", list),
            .caller(.get, "/v1/footprints/{id}") { _, context in
                let id = try context.uuid("id", what: "the footprint")
                guard let found = try await env.store.read(as: context.caller, { try await $0.footprint(id: id) }) else {
                    throw Problems.notFound("the footprint")
                }
                return try jsonResponse(found.record)
            },
            .writer(.post, "/v1/footprints/{id}/publish", publish),
            .writer(.post, "/v1/pact-clients", registerClient),
            .writer(.post, "/v1/pact-clients/{id}/disable") { _, context in
                let id = try context.uuid("id", what: "the PACT client")
                try check(Policy.listPACTClients(context.caller), "the PACT client")
                return try await env.store.answering(as: context.caller) { tx in
                    guard let client = try await tx.disablePACTClient(id: id) else { throw Problems.notFound("the PACT client (or it is disabled already)") }
                    return try jsonResponse(client)
                }
            },
            .caller(.get, "/v1/pact-clients") { _, context in
                try check(Policy.listPACTClients(context.caller), "the PACT clients")
                let clients = try await env.store.read(as: context.caller) { try await $0.pactClients(limit: 1000) }
                return try jsonResponse(Page(items: clients, nextCursor: nil))
            },
        ]
    }

    /// A draft of the caller's organization: who may is asked before the body is read.
    func create(_ request: Request, _ context: CallerContext) async throws -> Response {
        try check(Policy.declareFootprint(context.caller), "footprints")
        let draft = try await FootprintDraftRequest.read(request, limit: context.bodyLimit)
        return try await env.store.answering(as: context.caller) { tx in
            if let standard = draft.standardID, try await tx.query("SELECT 1 FROM standards WHERE id = \(standard)").isEmpty {
                throw Problems.invalid("standard_id", "names no standard")
            }
            let record = try await tx.createFootprint(
                draft.document, facets: draft.facets, preceding: draft.preceding, standardID: draft.standardID, caller: context.caller,
                final: true)
            return try jsonResponse(record, status: .created, headers: [.location: "/v1/footprints/\(record.id.uuidString.lowercased())"])
        }
    }

    static let bulkPath = "/v1/footprints/bulk"
    static let bulkMaxBytes = 16 << 20
    static let bulkMaxLines = 5_000

    /// `POST /v1/footprints/bulk[?publish=true]`: NDJSON, one draft document a line (at most
    /// 5,000 lines, 16 MiB), for `coalition footprints upload`. All or nothing: every line is
    /// judged first (422 naming `line N: <path>`), then all are stored, and published when
    /// asked, in one transaction; a refused publication (a precedingPfIds that is not the
    /// organization's) stores none.
    func createMany(_ request: Request, _ context: CallerContext) async throws -> Response {
        try check(Policy.declareFootprint(context.caller), "footprints")
        var query = QueryReader(request)
        let publish = query.flag("publish")
        try query.finish()
        let buffer = try await request.body.collect(upTo: context.bodyLimit)
        var drafts: [(line: Int, draft: FootprintDraftRequest)] = []
        var errors: [Problem.FieldError] = []
        for (index, text) in buffer.readableBytesView.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let bytes = text.last == UInt8(ascii: "\r") ? text.dropLast() : text[...]
            if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
            guard drafts.count < Self.bulkMaxLines else {
                throw Problem(status: 413, title: "Content Too Large", detail: "at most \(Self.bulkMaxLines) footprints a request")
            }
            guard let document = try? JSONValue.parse(bytes) else {
                errors.append(.init(field: "line \(line)", message: "is not a JSON document"))
                continue
            }
            switch FootprintDraftRequest.judge(document) {
            case .success(let draft): drafts.append((line, draft))
            case .failure(let invalid): errors += invalid.errors.map { .init(field: $0.field == "$" ? "line \(line)" : "line \(line): \($0.field)", message: $0.message) }
            }
            if errors.count >= 100 { break }
        }
        guard errors.isEmpty else { throw Problems.invalid(errors) }
        guard !drafts.isEmpty else { throw Problems.invalid("body", "holds no footprint; send one JSON document a line") }
        return try await env.store.answering(as: context.caller) { tx in
            var ids: [String] = []
            for (line, draft) in drafts {
                let record = try await tx.createFootprint(
                    draft.document, facets: draft.facets, preceding: draft.preceding, standardID: nil, caller: context.caller)
                if publish, case .failure(.unknownPreceding(let old)) = try await tx.publishFootprint(record.id, preceding: draft.preceding, caller: context.caller) {
                    throw Problems.invalid("line \(line): precedingPfIds", "\(old.uuidString.lowercased()) is not an active published footprint of your organization")
                }
                ids.append(record.id.uuidString.lowercased())
            }
            let body: JSONValue = .object([
                "created": .number(String(ids.count)), "published": .bool(publish), "ids": .array(ids.map { .string($0) }),
            ])
            return Response(status: .created, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body.canonicalText)))
        }
    }

    func list(_ request: Request, _ context: CallerContext) async throws -> Response {
        var query = QueryReader(request)
        let organization = query.uuid("organization")
        let state = query.enumeration("state", FootprintState.self)
        let page = query.page(SubmissionFeedKey.self)
        try query.finish()
        let rows = try await env.store.read(as: context.caller) {
            try await $0.footprints(organization: organization, state: state, after: page.after.map { ($0.micros, $0.id) }, limit: page.fetchLimit)
        }
        return try jsonResponse(page.page(rows, item: \.0) { SubmissionFeedKey(micros: $0.1, id: $0.0.id) })
    }

    /// Publishes a draft; the footprints it names in `precedingPfIds` become `Deprecated`.
    func publish(_ request: Request, _ context: CallerContext) async throws -> Response {
        let id = try context.uuid("id", what: "the footprint")
        try check(Policy.declareFootprint(context.caller), "the footprint")
        return try await env.store.answering(as: context.caller) { tx in
            guard let visible = try await tx.footprint(id: id) else { throw Problems.notFound("the footprint") }
            try check(Policy.publishFootprint(context.caller, organizationID: visible.record.organizationID), "the footprint")
            guard let current = try await tx.footprint(id: id, forUpdate: true) else { throw Problems.notFound("the footprint") }
            guard current.record.state == .draft else { throw Problems.illegalTransition("the footprint is published already") }
            switch try await tx.publishFootprint(id, preceding: current.preceding, caller: context.caller) {
            case .success(let record): return try jsonResponse(record)
            case .failure(.notDraft): throw Problems.illegalTransition("the footprint is published already")
            case .failure(.unknownPreceding(let old)):
                throw Problems.invalid(
                    "footprint.precedingPfIds", "\(old.uuidString.lowercased()) is not an active published footprint of your organization")
            }
        }
    }

    /// A PACT client: coalition admins for the coalition or any organization, member admins for
    /// their own. The secret is in this answer only.
    func registerClient(_ request: Request, _ context: CallerContext) async throws -> Response {
        let caller = context.caller
        // Who may register at all is asked before the body is read; for which organization after.
        try check(Policy.registerPACTClient(caller, organizationID: caller.role == .memberAdmin ? caller.organizationID : nil), "PACT clients")
        let form = try await PACTClientRequest.read(request, limit: context.bodyLimit)
        let organization = form.organizationID ?? (caller.role == .memberAdmin ? caller.organizationID : nil)
        try check(Policy.registerPACTClient(caller, organizationID: organization), "the organization")
        if form.callbackClientSecret != nil, env.settings.secretsKey == nil {
            throw Problems.invalid("callback_client_secret", PACTClientRegistration.Refusal.noSecretsKey.description)
        }
        return try await env.store.answering(as: caller) { tx in
            if let organization, try await tx.query("SELECT 1 FROM organizations WHERE id = \(organization)").isEmpty {
                throw Problems.invalid("organization_id", "names no organization")
            }
            let created = try await PACTClientRegistration.register(
                name: form.name, organizationID: organization, callbackClientID: form.callbackClientID,
                callbackClientSecret: form.callbackClientSecret, secretsKey: env.settings.secretsKey, createdBy: caller.userID, in: tx)
            return try jsonResponse(created, status: .created)
        }
    }
}
