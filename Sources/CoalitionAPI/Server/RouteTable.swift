import CoalitionDomain
import Foundation
import HTTPTypes
import Hummingbird

/// Who may call a route. Each route declares it; the server admits callers by it before the
/// handler runs, before a byte of the body is read, and the OpenAPI test checks every
/// operation's `security` against it.
public enum Audience: String, Sendable {
    /// Anyone, with or without a token; the handler sees the caller if a token came.
    case anyone
    /// A caller with a valid token of either scope.
    case caller
    /// A caller whose token has the write scope: every mutation.
    case writer

    /// The caller this audience admits: nil for an anonymous request to an `anyone` route,
    /// 401 without a token, 403 for a read-scope token on a `writer` route.
    func admit(_ context: AppRequestContext) throws -> Caller? {
        if self == .anyone { return context.caller }
        guard let caller = context.caller else {
            throw Problems.unauthorized("this endpoint needs a bearer token; log in with POST /v1/auth/login")
        }
        if self == .writer, !caller.canWrite { throw Problems.forbidden("this token has the read scope only") }
        return caller
    }
}

/// One route: method, path pattern (`/v1/users/{id}`), who may call it, and its handler.
struct Endpoint: Sendable {
    typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response
    typealias CallerHandler = @Sendable (Request, CallerContext) async throws -> Response

    let method: HTTPRequest.Method
    let path: String
    let audience: Audience
    /// The handler reads its body as a stream (a bulk file): an `Idempotency-Key` fingerprints
    /// it as it streams instead of reading it whole first.
    var streamsBody = false
    /// Runs once the audience admitted the request.
    let handler: Handler

    /// A route anyone may call; `context.caller` is the caller when a token came.
    static func anyone(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) -> Endpoint {
        Endpoint(method: method, path: path, audience: .anyone, handler: handler)
    }

    /// A route for any authenticated caller; the handler gets the caller, never nil.
    static func caller(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping CallerHandler) -> Endpoint {
        Endpoint(method: method, path: path, audience: .caller) { request, context in
            try await handler(request, try CallerContext(context, audience: .caller))
        }
    }

    /// A mutation: a caller whose token has the write scope.
    static func writer(_ method: HTTPRequest.Method, _ path: String, streamsBody: Bool = false, _ handler: @escaping CallerHandler) -> Endpoint {
        Endpoint(method: method, path: path, audience: .writer, streamsBody: streamsBody) { request, context in
            try await handler(request, try CallerContext(context, audience: .writer))
        }
    }
}

/// The context of a route that needs a caller: the request's context, and its caller.
struct CallerContext: Sendable {
    let caller: Caller
    let request: AppRequestContext

    init(_ context: AppRequestContext, audience: Audience) throws {
        guard let caller = try audience.admit(context) else {
            throw Problems.unauthorized("this endpoint needs a bearer token; log in with POST /v1/auth/login")
        }
        self.caller = caller
        self.request = context
    }

    /// The largest body this request may send.
    var bodyLimit: Int { request.maxUploadSize }

    func uuid(_ name: String, what: String) throws -> UUID { try request.uuid(name, what: what) }
}

/// The set of method + path patterns the server answers, with their audience. Used to tell
/// 405 from 404, and by the test that keeps the OpenAPI document and the routes in agreement.
public struct RouteTable: Sendable {
    public struct Entry: Sendable, Hashable {
        public var method: String
        public var path: String
        public var audience: Audience
    }

    public let entries: [Entry]
    private let patterns: [(HTTPRequest.Method, [Substring])]

    init(_ endpoints: [Endpoint]) {
        entries = endpoints.map { Entry(method: $0.method.rawValue, path: $0.path, audience: $0.audience) }
        patterns = endpoints.map { ($0.method, $0.path.split(separator: "/")) }
    }

    /// Routes outside the API (the console's pages): their methods and paths only.
    init(_ routes: [(HTTPRequest.Method, String)]) {
        entries = []
        patterns = routes.map { ($0.0, $0.1.split(separator: "/")) }
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
