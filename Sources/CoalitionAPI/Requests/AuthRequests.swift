import CoalitionDomain
import CoalitionModels
import Foundation
import Hummingbird

/// `POST /v1/auth/login`: `{email, password}`.
struct LoginRequest {
    var email: String
    var password: String

    static func read(_ request: Request, limit: Int) async throws -> LoginRequest {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["email", "password"])
        let email = body.string("email", required: true) { Limits.email.contains($0.count) ? nil : "must be 3 to 254 characters" }
        let password = body.string("password", required: true) { $0.utf8.count <= 1024 ? nil : "is too long" }
        let (e, p) = try body.finish(email, password)
        return LoginRequest(email: e, password: p)
    }
}

/// `POST /v1/tokens`: `{name, scopes = [read], expires_in_days = 90}`.
struct NewToken {
    var name: String
    var scopes: [TokenScope]
    var lifetimeDays: Int

    static func read(_ request: Request, limit: Int) async throws -> NewToken {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["name", "scopes", "expires_in_days"])
        let name = body.string("name", required: true) { Validate.text($0, Limits.tokenName) }
        let scopes = body.enumerations("scopes", TokenScope.self) ?? [.read]
        if scopes.isEmpty { body.fail("scopes", "must name at least one scope") }
        let days = body.integer("expires_in_days", range: Limits.tokenLifetimeDays) ?? 90
        return NewToken(name: try body.finish(name), scopes: Array(Set(scopes)).sorted(), lifetimeDays: days)
    }
}
