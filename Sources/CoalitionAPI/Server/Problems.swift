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

    static let conflictType = "urn:coalition:problem:conflict"

    static func conflict(_ conflict: Conflict) -> Problem {
        Problem(
            status: 409, title: "Conflict", detail: "\(conflict.field): \(conflict.message)",
            type: conflictType, errors: [.init(field: conflict.field, message: conflict.message)])
    }

    /// A lifecycle step the resource's state does not allow; the detail names the state and
    /// the steps it allows.
    static func illegalTransition(_ detail: String) -> Problem {
        Problem(status: 409, title: "Conflict", detail: detail, type: "urn:coalition:problem:illegal-transition")
    }
}

extension AppRequestContext {
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
