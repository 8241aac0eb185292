import HTTPTypes
import Hummingbird

/// One route: method, path pattern (`/v1/users/{id}`) and handler.
struct Endpoint: Sendable {
    typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response
    var method: HTTPRequest.Method
    var path: String
    var handler: Handler
}

/// The set of method + path patterns the server answers. Used to tell 405 from 404, and by the
/// test that keeps the OpenAPI document and the routes in agreement.
public struct RouteTable: Sendable {
    public struct Entry: Sendable, Hashable {
        public var method: String
        public var path: String
    }

    public let entries: [Entry]
    private let patterns: [(HTTPRequest.Method, [Substring])]

    init(_ endpoints: [Endpoint]) {
        entries = endpoints.map { Entry(method: $0.method.rawValue, path: $0.path) }
        patterns = endpoints.map { ($0.method, $0.path.split(separator: "/")) }
    }

    /// Methods that some route accepts on `path`, or nil when no route has that path.
    func methods(forPath path: String) -> [HTTPRequest.Method]? {
        let segments = path.split(separator: "/")
        let methods = patterns.filter { Self.matches($0.1, segments) }.map(\.0)
        return methods.isEmpty ? nil : Array(Set(methods))
    }

    static func matches(_ pattern: [Substring], _ segments: [Substring]) -> Bool {
        guard pattern.count == segments.count else { return false }
        for (p, s) in zip(pattern, segments) where !(p.hasPrefix("{") || p.hasPrefix(":")) && p != s {
            return false
        }
        return true
    }
}
