import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// `GET /v1/audit` and `GET /v1/audit/verify`: coalition admins and auditors.
struct AuditRoutes {
    let env: APIEnvironment

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .get, path: "/v1/audit") { request, context in
                let actor = try context.requireActor()
                try check(Policy.readAudit(actor), "the audit log")
                let page = try PageRequest(request)
                let after = try page.cursor.map { text in
                    guard let id = Int64(text) else { throw Problems.invalid("cursor", "is not a cursor this server issued") }
                    return id
                }
                let entries = try await env.store.transaction(as: actor) { try await $0.auditEntries(after: after, limit: page.fetchLimit) }
                return try jsonResponse(page.page(entries) { String($0.id) })
            },
            Endpoint(method: .get, path: "/v1/audit/verify") { _, context in
                let actor = try context.requireActor()
                try check(Policy.readAudit(actor), "the audit log")
                return try jsonResponse(try await env.store.verifyAudit())
            },
        ]
    }
}
