import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird
import PQ

/// The problems every route shares, so that each says the same thing the same way.
enum Problems {
    static let validationType = "urn:coalition:problem:validation"

    static func unauthorized(_ detail: String) -> Problem {
        Problem(status: 401, title: "Unauthorized", detail: detail)
    }

    static func forbidden(_ detail: String) -> Problem {
        Problem(status: 403, title: "Forbidden", detail: detail)
    }

    static func notFound(_ what: String) -> Problem {
        Problem(status: 404, title: "Not Found", detail: "\(what) does not exist or is not visible to you")
    }

    static func invalid(_ errors: [Problem.FieldError]) -> Problem {
        Problem(
            status: 422, title: "Unprocessable Content",
            detail: errors.map { "\($0.field): \($0.message)" }.joined(separator: "; "),
            type: validationType, errors: errors)
    }

    static func invalid(_ field: String, _ message: String) -> Problem { invalid([.init(field: field, message: message)]) }

    static func conflict(_ conflict: Conflict) -> Problem {
        Problem(
            status: 409, title: "Conflict", detail: "\(conflict.field): \(conflict.message)",
            type: "urn:coalition:problem:conflict", errors: [.init(field: conflict.field, message: conflict.message)])
    }
}

extension AppRequestContext {
    /// The actor, or 401 for anonymous callers.
    func requireActor() throws -> Actor {
        guard let actor else { throw Problems.unauthorized("this endpoint needs a bearer token; log in with POST /v1/auth/login") }
        return actor
    }

    /// A path parameter that must be a UUID; anything else cannot name a resource (404).
    func uuid(_ name: String, what: String) throws -> UUID {
        guard let text = parameters.get(name), let id = UUID(uuidString: text) else { throw Problems.notFound(what) }
        return id
    }
}

/// Turns a policy decision into the answer: 403 names the reason, 404 hides existence.
func check(_ access: Access, _ what: String) throws {
    switch access {
    case .allowed: return
    case .forbidden(let reason): throw Problems.forbidden(reason)
    case .hidden: throw Problems.notFound(what)
    }
}

/// Maps store errors a route can expect to their answers.
func mappingConflicts<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PQError {
        if let conflict = error.conflict { throw Problems.conflict(conflict) }
        throw error
    }
}

/// `?limit=` (1–500, default 50) and `?cursor=` of every list.
struct PageRequest {
    var limit: Int
    var cursor: String?

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        var errors: [Problem.FieldError] = []
        limit = 50
        if let text = query.get("limit") {
            if let value = Int(text), (1...500).contains(value) { limit = value } else {
                errors.append(.init(field: "limit", message: "must be a whole number from 1 to 500"))
            }
        }
        cursor = nil
        if let text = query.get("cursor"), !text.isEmpty {
            if let key = Cursor.decode(text) { cursor = key } else {
                errors.append(.init(field: "cursor", message: "is not a cursor this server issued"))
            }
        }
        if !errors.isEmpty { throw Problems.invalid(errors) }
    }

    /// One more row than asked is fetched to know whether there is a next page.
    var fetchLimit: Int { limit + 1 }

    func page<T: Codable & Sendable>(_ rows: [T], key: (T) -> String) -> Page<T> {
        if rows.count > limit {
            let items = Array(rows.prefix(limit))
            return Page(items: items, nextCursor: Cursor.encode(key(items[items.count - 1])))
        }
        return Page(items: rows, nextCursor: nil)
    }
}
