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
            .anyone(.post, "/v1/auth/login", login),
            .caller(.get, "/v1/me") { _, context in try await me(context.caller) },
            .writer(.post, "/v1/tokens", createToken),
            .caller(.get, "/v1/tokens", listTokens),
            .writer(.delete, "/v1/tokens/{id}") { _, context in try await revokeToken(context) },
        ]
    }

    func login(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let credentials = try await LoginRequest.read(request, limit: context.maxUploadSize)
        let address = context.clientAddress
        guard let login = try await CredentialCheck(env: env).logIn(
            email: credentials.email, password: credentials.password, address: address, kind: .session,
            name: "login from \(address)", lifetimeSeconds: env.settings.sessionHours * 3600,
            then: { tx, record in try await tx.user(id: record.userID) })
        else { throw Problems.unauthorized("wrong email or password") }
        guard let user = login.value else { throw Problems.notFound("the user") }
        return try jsonResponse(LoginResponse(token: login.secret.token, expiresAt: login.expiresAt, user: user))
    }

    func me(_ caller: Caller) async throws -> Response {
        let (user, organization) = try await env.store.read(as: caller) { tx in
            try await tx.me(userID: caller.userID, organizationID: caller.organizationID)
        }
        guard let user, let organization else { throw Problems.notFound("the user") }
        return try jsonResponse(Me(user: user, organization: organization, role: caller.role, scopes: caller.scopes.sorted()))
    }

    func createToken(_ request: Request, _ context: CallerContext) async throws -> Response {
        let caller = context.caller
        let new = try await NewToken.read(request, limit: context.bodyLimit)
        let secret = TokenSecret.generate()
        let expiresAt = Date().addingTimeInterval(Double(new.lifetimeDays) * 86_400)
        return try await env.store.answering(as: caller) { tx in
            let token = try await tx.createToken(
                userID: caller.userID, organizationID: caller.organizationID, kind: .api, name: new.name, keyID: secret.keyID,
                secretHash: secret.secretHash, scopes: new.scopes, expiresAt: expiresAt)
            return try jsonResponse(CreatedToken(token: secret.token, details: token), status: .created)
        }
    }

    func listTokens(_ request: Request, _ context: CallerContext) async throws -> Response {
        let page = try PageRequest<UUID>.read(request)
        let tokens = try await env.store.transaction(as: context.caller) { try await $0.tokens(after: page.after, limit: page.fetchLimit) }
        return try jsonResponse(page.page(tokens) { $0.id })
    }

    func revokeToken(_ context: CallerContext) async throws -> Response {
        let id = try context.uuid("id", what: "the token")
        guard let token = try await env.store.transaction(as: context.caller, { try await $0.revokeToken(id: id) }) else {
            throw Problems.notFound("the token")
        }
        env.tokens.invalidateAll()
        return try jsonResponse(token)
    }
}
