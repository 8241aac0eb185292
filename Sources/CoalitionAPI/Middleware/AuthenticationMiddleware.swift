import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird

/// Resolves `Authorization: Bearer <token>` to the caller of the request. No header: anonymous.
/// A header that does not name a live token of an active user is 401, whatever the route.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: Store
    let tokens: TokenCache

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        var context = context
        let caller = try await authenticate(header)
        context.caller = caller
        context.logger[metadataKey: "user_id"] = "\(caller.userID.uuidString.lowercased())"
        return try await next(request, context)
    }

    func authenticate(_ header: String) async throws -> Caller {
        let unauthorized = Problems.unauthorized("the bearer token is not valid, expired or revoked")
        guard header.count > 7, header.prefix(7).lowercased() == "bearer ",
            let presented = TokenSecret.parse(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        else { throw unauthorized }
        let record = try await tokens.record(keyID: presented.keyID) {
            try await store.withoutCaller { try await $0.tokenRecord(keyID: presented.keyID) }
        }
        guard let record, TokenSecret.digestsMatch(record.secretHash, presented.secretHash) else { throw unauthorized }
        let now = Date()
        guard record.revokedAt == nil, record.expiresAt.map({ $0 > now }) ?? true else { throw unauthorized }
        guard record.userStatus == .active else { throw Problems.unauthorized("this user is disabled") }
        guard record.organizationStatus == .active else { throw Problems.unauthorized("this user's organization is not active") }
        // last_used_at is written at most once a minute per token, in the background.
        tokens.noteUse(of: record, keyID: presented.keyID, now: now)
        return Caller(
            userID: record.userID, organizationID: record.organizationID, role: record.role, scopes: Set(record.scopes), tokenID: record.tokenID)
    }
}
