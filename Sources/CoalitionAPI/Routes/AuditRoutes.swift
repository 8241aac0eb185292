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
            .caller(.get, "/v1/audit") { request, context in
                try check(Policy.readAudit(context.caller), "the audit log")
                let page = try PageRequest<Int64>.read(request)
                let entries = try await env.store.transaction(as: context.caller) { try await $0.auditEntries(after: page.after, limit: page.fetchLimit) }
                return try jsonResponse(page.page(entries) { $0.id })
            },
            .caller(.get, "/v1/audit/verify") { _, context in
                try check(Policy.readAudit(context.caller), "the audit log")
                return try jsonResponse(try await env.store.verifyAudit())
            },
        ]
    }
}
