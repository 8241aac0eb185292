import CoalitionDomain
import CoalitionStore
import Hummingbird
import Logging
import NIOCore
import PQ
import Prometheus
import ServiceLifecycle

/// Runs the pool under the service group: closes it after the HTTP server has drained, since
/// services shut down in reverse order of start.
struct DatabasePoolService: Service {
    let pool: ConnectionPool

    func run() async throws {
        try? await gracefulShutdown()
        await pool.close()
    }
}

/// Builds the HTTP application: routes, middleware and services.
public enum CoalitionApplication {
    /// Every route the server answers, for the 405 check and the OpenAPI agreement test.
    static func endpoints(pool: ConnectionPool, migrator: Migrator, registry: PrometheusCollectorRegistry) -> [Endpoint] {
        HealthRoutes(pool: pool, migrator: migrator).endpoints
            + MetricsRoutes(registry: registry).endpoints
    }

    public static func build(
        settings: ServerSettings, pool: ConnectionPool, migrator: Migrator,
        registry: PrometheusCollectorRegistry, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let endpoints = endpoints(pool: pool, migrator: migrator, registry: registry)
        let table = RouteTable(endpoints)
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestIDMiddleware(maxBodyBytes: settings.maxBodyBytes))
        router.add(middleware: HTTPMetricsMiddleware())
        router.add(middleware: ProblemMiddleware(routes: table))
        for endpoint in endpoints {
            let handler = endpoint.handler
            router.on(RouterPath(endpoint.path), method: endpoint.method) { request, context in
                try await handler(request, context)
            }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "coalition"),
            services: [DatabasePoolService(pool: pool)],
            onServerRunning: onServerRunning,
            logger: logger)
    }
}
