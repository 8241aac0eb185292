import Foundation
import Hummingbird
import Metrics

/// Counts requests and records their latency per method, route pattern and status.
/// The route is the matched pattern (`/v1/users/{id}`), never the raw path, to bound cardinality.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        // Hummingbird labels unmatched requests "NotFound"; requests refused before routing have none.
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        let dimensions = [("method", request.method.rawValue), ("route", route), ("status", String(response.status.code))]
        Counter(label: "coalition_http_requests_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "coalition_http_request_duration_seconds", dimensions: dimensions)
            .recordInterval(since: start)
        return response
    }
}

extension Metrics.Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let nanos = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        recordNanoseconds(nanos)
    }
}
