import CoalitionModels
import CoalitionStore
import Hummingbird
import Logging
import PQ

/// `GET /health/live` and `GET /health/ready`.
struct HealthRoutes {
    let pool: ConnectionPool
    let migrator: Migrator

    var endpoints: [Endpoint] {
        [
            .anyone(.get, "/health/live") { _, _ in
                try jsonResponse(HealthStatus(status: "live", version: CoalitionVersion.current))
            },
            .anyone(.get, "/health/ready") { _, context in
                try await ready(context: context)
            },
        ]
    }

    /// Ready when the database answers and every known migration is applied; 503 with the
    /// reason otherwise. Checked on every call, so it recovers without a restart.
    func ready(context: AppRequestContext) async throws -> Response {
        let pending: [Int]
        do {
            pending = try await pool.withConnection { try await migrator.pendingVersions($0) }
        } catch let error as PQError {
            context.logger.warning("readiness: database check failed", metadata: ["error": "\(error)"])
            throw Problem(status: 503, title: "Service Unavailable", detail: "database unreachable: the server cannot query PostgreSQL")
        }
        guard pending.isEmpty else {
            throw Problem(
                status: 503, title: "Service Unavailable",
                detail: "schema not current: \(pending.count) migration(s) pending, first \(pending[0]); run coalition-server migrate")
        }
        return try jsonResponse(HealthStatus(status: "ready", schemaVersion: migrator.migrations.last?.version ?? 0, version: CoalitionVersion.current))
    }
}
