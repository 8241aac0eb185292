import CoalitionDomain
import CoalitionStore
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import Metrics
import NIOCore
import PQ
import Prometheus
import ServiceLifecycle

/// Runs the pool under the service group: closes it after the HTTP server has drained, since
/// services shut down in reverse order of start (or at once when the group is cancelled).
struct DatabasePoolService: Service {
    let pool: ConnectionPool

    func run() async throws {
        try? await gracefulShutdown()
        await pool.close()
    }
}

/// Chains committed audit entries about once a second, so that entries are sealed shortly
/// after their transaction commits without any business transaction waiting for the chain.
/// Ends on graceful shutdown (sealing once more) and at once on cancellation: a cancelled task
/// or a closed pool is the end of the service, not a database failure to retry.
/// After each pass it publishes what is left to seal: `coalition_audit_unsealed_entries` and
/// `coalition_audit_seal_lag_seconds` (the age of the oldest entry not chained yet; it grows
/// while sealing fails).
struct AuditSealerService: Service {
    let store: Store
    let logger: Logger
    let unsealed = Gauge(label: "coalition_audit_unsealed_entries")
    let lag = Gauge(label: "coalition_audit_seal_lag_seconds")

    func run() async throws {
        var tick = 0
        var failing = false
        // While sealing fails the backlog cannot be read; the lag then counts from the oldest
        // entry known to wait, or from the last pass that sealed everything.
        var lastBacklog = (at: ContinuousClock.now, oldestSeconds: 0.0)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await store.sealAudit()
                let backlog = try await store.auditBacklog()
                lastBacklog = (ContinuousClock.now, backlog.oldestSeconds)
                unsealed.record(backlog.entries)
                lag.record(backlog.oldestSeconds)
                // Expired idempotency keys go about once a minute.
                if tick % 60 == 0 { try await store.purgeIdempotencyKeys() }
                if failing {
                    failing = false
                    logger.info("audit sealing and key purging resumed")
                }
            } catch let error as PQError where error.kind == .poolClosed || error.kind == .cancelled {
                return
            } catch is CancellationError {
                return
            } catch {
                // Once per outage, not once a second while the database is away.
                if !failing { logger.warning("audit sealing or key purging failed; retrying every second", metadata: ["error": "\(error)"]) }
                failing = true
                let waited = ContinuousClock.now - lastBacklog.at
                lag.record(lastBacklog.oldestSeconds + Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18)
            }
            tick += 1
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            } catch {
                break
            }
        }
        // One more pass on the way out, unless the database is known to be away (behind a
        // pooler that would hold the query, the shutdown would wait for it).
        if Task.isShuttingDownGracefully && !Task.isCancelled && !failing { _ = try? await store.sealAudit() }
    }
}

extension Endpoint {
    /// Admits the caller by the route's audience (401/403 before any of the body is read),
    /// then runs the handler, through `Idempotency-Key` replay for a writer's POST.
    func respond(to request: Request, context: AppRequestContext, replays: IdempotentReplay) async throws -> Response {
        let caller = try audience.admit(context)
        if audience == .writer, method == .post, let caller, let key = request.headers[.idempotencyKey] {
            return try await replays.respond(to: request, key: key, caller: caller, context: context, endpoint: self)
        }
        return try await handler(request, context)
    }
}

/// The server's TLS identity from `COALITION_TLS_CERT_FILE` (a PEM chain, leaf first) and
/// `COALITION_TLS_KEY_FILE`.
func tlsConfiguration(_ settings: ServerSettings) throws -> TLSConfiguration {
    let chain = try NIOSSLCertificate.fromPEMFile(settings.tlsCertificateFile)
    let key = try NIOSSLPrivateKey(file: settings.tlsKeyFile, format: .pem)
    var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    configuration.minimumTLSVersion = .tlsv12
    return configuration
}

/// Builds the HTTP application: routes, middleware and services.
public enum CoalitionApplication {
    /// Every route the server answers, for the 405 check and the OpenAPI agreement test.
    static func endpoints(env: APIEnvironment, registry: PrometheusCollectorRegistry) -> [Endpoint] {
        HealthRoutes(pool: env.store.pool, migrator: env.migrator, draining: env.draining).endpoints
            + MetricsRoutes(registry: registry).endpoints
            + OpenAPIRoutes().endpoints
            + AuthRoutes(env: env).endpoints
            + OrganizationRoutes(env: env).endpoints
            + AuditRoutes(env: env).endpoints
            + ProjectRoutes(env: env).endpoints
            + BulkRoutes(env: env).endpoints
            + SubmissionRoutes(env: env).endpoints
            + ReportRoutes(env: env).endpoints
            + StandardRoutes(env: env).endpoints
            + FootprintRoutes(env: env).endpoints
            + PACTRoutes(env: env).endpoints
    }

    /// Loads the TLS certificate and key, to report a bad one in one line before starting.
    public static func checkTLS(_ settings: ServerSettings) throws {
        _ = try tlsConfiguration(settings)
    }

    /// The method and path of every route, for tests that compare them with the OpenAPI document.
    public static func routeTable(env: APIEnvironment) -> RouteTable {
        RouteTable(endpoints(env: env, registry: PrometheusCollectorRegistry()))
    }

    public static func build(
        env: APIEnvironment, registry: PrometheusCollectorRegistry, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let settings = env.settings
        let pool = env.store.pool
        let endpoints = endpoints(env: env, registry: registry)
        let table = RouteTable(endpoints)
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestIDMiddleware(maxBodyBytes: settings.maxBodyBytes, bulkMaxBytes: settings.bulkMaxBytes, trustedProxies: settings.trustedProxies))
        router.add(middleware: AccessLogMiddleware())
        let authentication = TokenAuthentication(store: env.store, tokens: env.tokens)
        let console = ConsoleRoutes(env: env, authentication: authentication, pages: .shared)
        router.add(middleware: ProblemMiddleware(routes: table, console: console.table, pages: console.pages))
        router.add(middleware: AuthenticationMiddleware(authentication: authentication))
        let replays = IdempotentReplay(store: env.store)
        for endpoint in endpoints {
            router.on(RouterPath(endpoint.path), method: endpoint.method) { request, context in
                try await endpoint.respond(to: request, context: context, replays: replays)
            }
        }
        for (method, path, handler) in console.routes {
            router.on(RouterPath(path), method: method, use: handler)
        }
        let readTimeout = TimeAmount.seconds(Int64(settings.requestReadTimeoutSeconds))
        let headerTimeout = TimeAmount.seconds(Int64(settings.headerTimeoutSeconds))
        let connections = ConnectionsPerAddress(perAddress: settings.maxConnectionsPerAddress)
        let http1 = HTTPServerBuilder.http1(configuration: .init(
            additionalChannelHandlers: [RequestGuardHandler(readTimeout: readTimeout, headerTimeout: headerTimeout, connections: connections)],
            idleTimeout: .seconds(Int64(settings.idleTimeoutSeconds)),
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: settings.maxHeaderBytes, maxHeaderListSize: settings.maxHeaderBytes,
                maxHeaderFieldCount: settings.maxHeaderCount)))
        // With a certificate the one port speaks only HTTPS (TLS 1.2 and later).
        let server = settings.servesTLS ? try HTTPServerBuilder.tls(http1, tlsConfiguration: try tlsConfiguration(settings)) : http1
        return Application(
            router: router,
            server: server,
            configuration: .init(
                address: .hostname(settings.host, port: settings.port), serverName: "coalition",
                availableConnectionsDelegate: MaximumAvailableConnections(settings.maxConnections)),
            services: [
                DatabasePoolService(pool: pool), AuditSealerService(store: env.store, logger: logger),
                TokenCacheService(
                    cache: env.tokens, store: env.store, conninfo: settings.listenDatabaseURL,
                    settings: SessionSettings(statementTimeoutMilliseconds: 0, applicationName: "coalition-listen", preparesStatements: false),
                    logger: logger),
                PACTDeliveryService(store: env.store, settings: settings, logger: logger),
            ],
            onServerRunning: onServerRunning,
            logger: logger)
    }
}
