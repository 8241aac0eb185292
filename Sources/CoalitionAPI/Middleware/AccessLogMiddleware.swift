import Foundation
import Hummingbird
import Metrics

/// Counts requests, records their latency per method, route pattern and status, and logs one
/// line per request (level info): method, route, path, status, duration and, from the
/// logger's metadata, the request id. The route is the matched pattern (`/v1/users/{id}`),
/// never the raw path, to bound the metrics' cardinality.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context, status: Int(response.status.code), since: start)
            return response
        } catch {
            // The problem middleware answers every error; what passes it is the framework's.
            record(request, context, status: (error as? any HTTPResponseError)?.status.code ?? 500, since: start)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        // Hummingbird labels unmatched requests "NotFound"; requests refused before routing have none.
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        let dimensions = [("method", request.method.rawValue), ("route", route), ("status", String(status))]
        Counter(label: "coalition_http_requests_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "coalition_http_request_duration_seconds", dimensions: dimensions).recordNanoseconds(elapsed.nanoseconds)
        context.logger.info(
            "request",
            metadata: [
                "method": "\(request.method.rawValue)", "route": "\(route)", "path": "\(request.uri.path)",
                "status": "\(status)", "duration_ms": "\(Double(elapsed.nanoseconds / 1_000) / 1_000)",
            ])
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

extension Metrics.Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        recordNanoseconds((ContinuousClock.now - start).nanoseconds)
    }
}
