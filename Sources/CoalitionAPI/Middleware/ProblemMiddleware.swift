import CoalitionModels
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PQ
import Synchronization

/// Turns every error into an RFC 9457 `application/problem+json` answer: Hummingbird's HTTP
/// errors (404, 413, …), 405 for a known path with another method, `Problem`s thrown by routes,
/// and anything unexpected as a 500 that names the request id but no SQL or stack trace.
/// Also refuses a declared body over the limit before any route reads it. Under `/console`,
/// the same problem is answered as an HTML page.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let routes: RouteTable
    let console: RouteTable
    let pages: ConsolePages

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            if let length = request.headers[.contentLength].flatMap(Int.init), length > context.maxUploadSize {
                throw Problem.tooLarge(limit: context.maxUploadSize)
            }
            return try await next(request, context)
        } catch {
            guard ConsolePages.isConsole(request.uri.path) else {
                return try Self.response(for: error, request: request, context: context, routes: routes)
            }
            let (problem, headers) = Self.problem(for: error, request: request, context: context, routes: console)
            var response = pages.problem(problem, session: nil)
            for field in headers { response.headers.append(field) }
            return response
        }
    }

    static let outageLog = RateLimitedLog(interval: .seconds(1))

    static func response(for error: any Error, request: Request, context: Context, routes: RouteTable) throws -> Response {
        let (problem, headers) = problem(for: error, request: request, context: context, routes: routes)
        return try problemResponse(problem, headers: headers)
    }

    /// The problem that answers `error`, and the headers that go with it (`Allow`, `Retry-After`).
    static func problem(for error: any Error, request: Request, context: Context, routes: RouteTable) -> (Problem, HTTPFields) {
        var headers = HTTPFields()
        var problem: Problem
        switch error {
        case let p as Problem:
            problem = p
        case let throttled as Throttled:
            problem = Problem(status: 429, title: "Too Many Requests", detail: "too many failed password checks; try again in \(throttled.retryAfter) s")
            headers[.retryAfter] = String(throttled.retryAfter)
        case let http as HTTPError:
            if http.status == .notFound, let allowed = routes.methods(forPath: request.uri.path), !allowed.isEmpty,
                !allowed.contains(request.method)
            {
                problem = Problem(
                    status: 405, title: "Method Not Allowed",
                    detail: "\(request.method) is not allowed on \(request.uri.path); allowed: \(allowed.map(\.rawValue).sorted().joined(separator: ", "))")
                headers[.allow] = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            } else if http.status == .notFound {
                problem = Problem(status: 404, title: "Not Found", detail: "no resource at \(request.uri.path)")
            } else if http.status == .contentTooLarge {
                problem = .tooLarge(limit: context.maxUploadSize)
            } else {
                problem = Problem(status: Int(http.status.code), title: http.status.reasonPhrase, detail: http.body)
            }
            for field in http.headers where field.name != .contentType && field.name != .contentLength {
                headers.append(field)
            }
        case let db as PQError where db.condition == .insufficientPrivilege:
            // Row-level security or a privilege refused what the service let through: the
            // database's second line held. Logged, since it means a policy check is missing.
            context.logger.error("the database refused a write the service allowed", metadata: ["error": "\(db)"])
            problem = Problem(status: 403, title: "Forbidden", detail: "you may not make this change")
        case let db as PQError where db.condition == .checkViolation:
            context.logger.warning("a check constraint refused a value", metadata: ["error": "\(db)"])
            problem = Problem(
                status: 422, title: "Unprocessable Content", detail: "a value is outside what the database accepts (\(db.constraint ?? "check"))",
                type: "urn:coalition:problem:validation")
        case let db as PQError where db.kind == .poolTimeout || db.kind == .connection || db.isDatabaseGoingAway:
            // Every request answers 503 while the database is away; the log says so about once
            // a second, with how many answers it stands for, not once per request. A server
            // that shuts down mid-request (SQLSTATE class 57P, or 08: connection exception) is
            // the same outage, seen a moment earlier: the request may have committed, and a
            // retry finds out (a repeated submission answers 200 unchanged).
            if let suppressed = Self.outageLog.admit() {
                context.logger.error("database unavailable", metadata: ["error": "\(db)", "similar_since_last": "\(suppressed)"])
            }
            problem = Problem(status: 503, title: "Service Unavailable", detail: "the database is not available; try again shortly")
            headers[.retryAfter] = "1"
        default:
            // PQError descriptions hold no parameter values, so they are safe to log.
            context.logger.error("unexpected error", metadata: ["error": "\(error is PQError ? String(describing: error) : String(reflecting: type(of: error)))"])
            problem = Problem(
                status: 500, title: "Internal Server Error",
                detail: "an unexpected error occurred; quote request id \(context.requestID) when reporting it")
        }
        problem.requestID = context.requestID
        return (problem, headers)
    }
}

extension Problem {
    static func tooLarge(limit: Int) -> Problem {
        Problem(status: 413, title: "Content Too Large", detail: "the request body is larger than the limit of \(limit) bytes")
    }
}

/// Encodes a problem document with its media type and status.
func problemResponse(_ problem: Problem, headers: HTTPFields = [:]) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var headers = headers
    headers[.contentType] = Problem.mediaType
    return Response(
        status: HTTPResponse.Status(code: problem.status),
        headers: headers,
        body: ResponseBody(byteBuffer: ByteBuffer(data: try encoder.encode(problem))))
}

/// Lets one log line through per interval and counts the ones it held back.
final class RateLimitedLog: Sendable {
    let interval: Duration
    private let state = Mutex<(last: ContinuousClock.Instant?, held: Int)>((nil, 0))

    init(interval: Duration) {
        self.interval = interval
    }

    /// The number of lines held back since the last one, when this one may be logged; nil when not.
    func admit(now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { state in
            if let last = state.last, now - last < interval {
                state.held += 1
                return nil
            }
            defer { state = (now, 0) }
            return state.held
        }
    }
}

extension PQError {
    /// PostgreSQL shutting down or crashing (57P01–57P03), or a connection exception (08xxx),
    /// reported as a server error on a connection that is going away.
    var isDatabaseGoingAway: Bool {
        guard let sqlState else { return false }
        return sqlState.hasPrefix("57P") || sqlState.hasPrefix("08")
    }
}
