import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird

/// Resolves `Authorization: Bearer <token>` to the caller of the request. No header: anonymous.
/// A header that does not name a live API or session token of an active user is 401, whatever
/// the route; a console session is not a bearer token.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authentication: TokenAuthentication

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // The PACT API authenticates its own clients (Basic for /auth/token, its access tokens).
        guard let header = request.headers[.authorization], !PACTRoutes.owns(request.uri.path[...]) else {
            return try await next(request, context)
        }
        var context = context
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw Problems.unauthorized(TokenAuthentication.Refusal.invalid.message)
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        switch try await authentication.caller(presenting: token, kinds: [.api, .session]) {
        case .caller(let caller):
            context.caller = caller
            context.logger[metadataKey: "user_id"] = "\(caller.userID.uuidString.lowercased())"
            return try await next(request, context)
        case .refused(let refusal):
            throw Problems.unauthorized(refusal.message)
        }
    }
}

/// A presented token (`clc_…`) checked against its row through the token cache: the same rule
/// for the API's bearer tokens and the console's session cookie, each admitting its own kinds.
struct TokenAuthentication: Sendable {
    let store: Store
    let tokens: TokenCache

    enum Refusal: Sendable, Equatable {
        case invalid, userDisabled, organizationInactive

        var message: String {
            switch self {
            case .invalid: "the bearer token is not valid, expired or revoked"
            case .userDisabled: "this user is disabled"
            case .organizationInactive: "this user's organization is not active"
            }
        }
    }

    enum Outcome: Sendable {
        case caller(Caller)
        case refused(Refusal)
    }

    func caller(presenting token: String, kinds: Set<TokenKind>) async throws -> Outcome {
        guard let presented = TokenSecret.parse(token) else { return .refused(.invalid) }
        let record = try await tokens.record(keyID: presented.keyID) {
            try await store.withoutCaller { try await $0.tokenRecord(keyID: presented.keyID) }
        }
        guard let record, TokenSecret.digestsMatch(record.secretHash, presented.secretHash), kinds.contains(record.kind) else {
            return .refused(.invalid)
        }
        let now = Date()
        guard record.revokedAt == nil, record.expiresAt.map({ $0 > now }) ?? true else { return .refused(.invalid) }
        guard record.userStatus == .active else { return .refused(.userDisabled) }
        guard record.organizationStatus == .active else { return .refused(.organizationInactive) }
        // last_used_at is written at most once a minute per token, in the background.
        tokens.noteUse(of: record, keyID: presented.keyID, now: now)
        return .caller(Caller(
            userID: record.userID, organizationID: record.organizationID, role: record.role, scopes: Set(record.scopes), tokenID: record.tokenID))
    }
}
