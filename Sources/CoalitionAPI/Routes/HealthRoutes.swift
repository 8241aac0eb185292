import CoalitionModels
import CoalitionStore
import Hummingbird
import Logging
import PQ
import Synchronization

/// `GET /health/live` and `GET /health/ready`.
struct HealthRoutes {
    let pool: ConnectionPool
    let migrator: Migrator
    let draining: Draining

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

    /// How long the readiness check waits for the database. A probe must answer, and a pooler
    /// such as PgBouncer holds a query while PostgreSQL is away instead of failing it.
    static let databaseDeadline: Duration = .seconds(2)

    /// Ready when the server is not shutting down, the database answers (within
    /// `databaseDeadline`) and every known migration is applied; 503 with the reason otherwise.
    /// Checked on every call, so it recovers without a restart.
    func ready(context: AppRequestContext) async throws -> Response {
        guard !draining.isDraining else {
            throw Problem(status: 503, title: "Service Unavailable", detail: "shutting down: the server is finishing its requests")
        }
        let pending: [Int]?
        do {
            pending = try await answer(within: Self.databaseDeadline) { [pool, migrator] in
                try await pool.withConnection { try await migrator.pendingVersions($0) }
            }
        } catch let error as PQError {
            context.logger.warning("readiness: database check failed", metadata: ["error": "\(error)"])
            throw Problem(status: 503, title: "Service Unavailable", detail: "database unreachable: the server cannot query PostgreSQL")
        }
        guard let pending else {
            context.logger.warning("readiness: the database did not answer in time", metadata: ["deadline": "\(Self.databaseDeadline)"])
            throw Problem(
                status: 503, title: "Service Unavailable", detail: "database unreachable: PostgreSQL did not answer within \(Self.databaseDeadline)")
        }
        guard pending.isEmpty else {
            throw Problem(
                status: 503, title: "Service Unavailable",
                detail: "schema not current: \(pending.count) migration(s) pending, first \(pending[0]); run coalition-server migrate")
        }
        return try jsonResponse(HealthStatus(status: "ready", schemaVersion: migrator.migrations.last?.version ?? 0, version: CoalitionVersion.current))
    }
}

/// `operation`'s result, or nil when it has not finished within `deadline`. The answer does not
/// wait for a late operation: it is cancelled and left to end on its own (a query held by a
/// pooler ends when the pooler gives up on it).
func answer<T: Sendable>(within deadline: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T? {
    let settled = Mutex(false)
    let claim: @Sendable () -> Bool = { settled.withLock { done in defer { done = true }; return !done } }
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T?, any Error>) in
        let work = Task {
            do {
                let value = try await operation()
                if claim() { continuation.resume(returning: value) }
            } catch {
                if claim() { continuation.resume(throwing: error) }
            }
        }
        let timer = Task {
            try? await Task.sleep(for: deadline)
            if claim() {
                continuation.resume(returning: nil)
                work.cancel()
            }
        }
        // The timer need not sleep on once the work has answered.
        Task {
            _ = await work.result
            timer.cancel()
        }
    }
}
