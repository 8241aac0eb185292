import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird

/// Resolves `Authorization: Bearer <token>` to the actor of the request. No header: anonymous.
/// A header that does not name a live token of an active user is 401, whatever the route.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: Store

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        var context = context
        context.actor = try await authenticate(header)
        context.logger[metadataKey: "user_id"] = "\(context.actor!.userID.uuidString.lowercased())"
        return try await next(request, context)
    }

    func authenticate(_ header: String) async throws -> Actor {
        let unauthorized = Problem(
            status: 401, title: "Unauthorized", detail: "the bearer token is not valid, expired or revoked")
        guard header.count > 7, header.prefix(7).lowercased() == "bearer ",
            let presented = TokenSecret.parse(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        else { throw unauthorized }
        let record = try await store.withoutActor { try await $0.tokenRecord(keyID: presented.keyID) }
        guard let record, TokenSecret.digestsMatch(record.secretHash, presented.secretHash) else { throw unauthorized }
        let now = Date()
        guard record.revokedAt == nil, record.expiresAt.map({ $0 > now }) ?? true else { throw unauthorized }
        guard record.userStatus == UserStatus.active.rawValue else {
            throw Problem(status: 401, title: "Unauthorized", detail: "this user is disabled")
        }
        guard record.organizationStatus == OrganizationStatus.active.rawValue else {
            throw Problem(status: 401, title: "Unauthorized", detail: "this user's organization is not active")
        }
        guard let role = Role(rawValue: record.role) else { throw unauthorized }
        // last_used_at is written at most once a minute per token, not on every request.
        if record.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true {
            try await store.withoutActor { try await $0.touchToken(id: record.tokenID) }
        }
        return Actor(
            userID: record.userID, organizationID: record.organizationID, role: role,
            scopes: Set(record.scopes.compactMap(TokenScope.init(rawValue:))), tokenID: record.tokenID)
    }
}
