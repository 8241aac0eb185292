import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /v1/auth/login`, `GET /v1/me`, and the caller's own tokens (`/v1/tokens`).
struct AuthRoutes {
    let env: APIEnvironment

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .post, path: "/v1/auth/login") { request, context in try await login(request, context) },
            Endpoint(method: .get, path: "/v1/me") { _, context in try await me(context) },
            Endpoint(method: .post, path: "/v1/tokens") { request, context in try await createToken(request, context) },
            Endpoint(method: .get, path: "/v1/tokens") { request, context in try await listTokens(request, context) },
            Endpoint(method: .delete, path: "/v1/tokens/{id}") { _, context in try await revokeToken(context) },
        ]
    }

    func login(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        var body = try await JSONBody.read(request, context: context, allowed: ["email", "password"])
        let email = body.string("email", required: true) { Limits.email.contains($0.count) ? nil : "must be 3 to 254 characters" }
        let password = body.string("password", required: true) { $0.utf8.count <= 1024 ? nil : "is too long" }
        try body.finish()
        let emailKey = email!.lowercased()
        let address = context.clientAddress
        let settings = env.settings
        let wait = try await env.store.transaction(as: nil) {
            try await $0.beginLoginAttempt(
                emailKey: emailKey, address: address, perEmail: settings.loginFailuresPerEmail,
                perAddress: settings.loginFailuresPerAddress, windowSeconds: settings.loginWindowSeconds)
        }
        if let retry = wait {
            var problem = Problem(status: 429, title: "Too Many Requests", detail: "too many failed logins; try again in \(retry) s")
            problem.requestID = context.requestID
            return try problemResponse(problem, headers: [.retryAfter: String(retry)])
        }
        let record = try await env.store.transaction(as: nil) { try await $0.loginRecord(email: emailKey) }
        // Unknown email and wrong password take the same path and the same bcrypt time.
        let passwordOK = try await env.passwords.verify(password!, hash: record?.passwordHash)
        guard let record, passwordOK, record.status == UserStatus.active.rawValue,
            record.organizationStatus == OrganizationStatus.active.rawValue, let role = Role(rawValue: record.role)
        else {
            try await env.store.transaction(as: nil) { try await $0.recordLoginFailure(emailKey: emailKey, address: address) }
            throw Problem(status: 401, title: "Unauthorized", detail: "wrong email or password")
        }
        let secret = TokenSecret.generate()
        let expiresAt = Date().addingTimeInterval(Double(settings.sessionHours) * 3600)
        let actor = Actor(userID: record.userID, organizationID: record.organizationID, role: role, scopes: [.read, .write], tokenID: UUID())
        let user = try await env.store.transaction(as: actor) { tx in
            try await tx.clearLoginFailures(emailKey: emailKey, address: address)
            _ = try await tx.createToken(
                userID: record.userID, organizationID: record.organizationID, kind: "session", name: "login from \(address)",
                keyID: secret.keyID, secretHash: secret.secretHash, scopes: [.read, .write], expiresAt: expiresAt)
            return try await tx.user(id: record.userID)!
        }
        return try jsonResponse(LoginResponse(token: secret.token, expiresAt: expiresAt, user: user))
    }

    func me(_ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let (user, organization) = try await env.store.transaction(as: actor) { tx in
            (try await tx.user(id: actor.userID), try await tx.organization(id: actor.organizationID))
        }
        guard let user, let organization else { throw Problems.notFound("the user") }
        return try jsonResponse(Me(user: user, organization: organization, role: actor.role.rawValue, scopes: actor.scopes.sorted().map(\.rawValue)))
    }

    func createToken(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        if !actor.canWrite { throw Problems.forbidden("this token has the read scope only") }
        var body = try await JSONBody.read(request, context: context, allowed: ["name", "scopes", "expires_in_days"])
        let name = body.string("name", required: true) { Validate.text($0, Limits.tokenName) }
        let scopeNames = body.strings("scopes") ?? ["read"]
        var scopes: [TokenScope] = []
        for name in scopeNames {
            if let scope = TokenScope(rawValue: name) { scopes.append(scope) } else {
                body.fail("scopes", "each scope must be read or write")
            }
        }
        if scopes.isEmpty, body.has("scopes") { body.fail("scopes", "must name at least one scope") }
        let days = body.integer("expires_in_days", range: Limits.tokenLifetimeDays) ?? 90
        try body.finish()
        let secret = TokenSecret.generate()
        let expiresAt = Date().addingTimeInterval(Double(days) * 86_400)
        let token = try await env.store.transaction(as: actor) { tx in
            try await tx.createToken(
                userID: actor.userID, organizationID: actor.organizationID, kind: "api", name: name!, keyID: secret.keyID,
                secretHash: secret.secretHash, scopes: Array(Set(scopes)).sorted(), expiresAt: expiresAt)
        }
        return try jsonResponse(CreatedToken(token: secret.token, details: token), status: .created)
    }

    func listTokens(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let page = try PageRequest(request)
        let after = try page.cursor.map { text in
            guard let id = UUID(uuidString: text) else { throw Problems.invalid("cursor", "is not a cursor this server issued") }
            return id
        }
        let tokens = try await env.store.transaction(as: actor) { try await $0.tokens(after: after, limit: page.fetchLimit) }
        return try jsonResponse(page.page(tokens) { $0.id.uuidString })
    }

    func revokeToken(_ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let id = try context.uuid("id", what: "the token")
        if !actor.canWrite { throw Problems.forbidden("this token has the read scope only") }
        guard let token = try await env.store.transaction(as: actor, { try await $0.revokeToken(id: id) }) else {
            throw Problems.notFound("the token")
        }
        return try jsonResponse(token)
    }
}
