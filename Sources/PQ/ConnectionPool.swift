import DequeModule
import Foundation
import Logging
import Metrics
import NIOPosix

/// How a `ConnectionPool` connects and how large it grows.
public struct PoolConfiguration: Sendable {
    /// libpq connection string or URI; empty uses the `PG*` variables.
    public var conninfo: String
    /// At most this many connections are open at once.
    public var maximumConnections: Int
    /// How long `withConnection` waits for a free connection before failing with `poolTimeout`.
    public var acquireTimeout: Duration
    public var session: SessionSettings
    /// A label for metrics; several pools in one process keep separate gauges.
    public var metricsLabel: String

    public init(
        conninfo: String, maximumConnections: Int = 8, acquireTimeout: Duration = .seconds(5),
        session: SessionSettings = SessionSettings(), metricsLabel: String = "main"
    ) {
        self.conninfo = conninfo
        self.maximumConnections = max(1, maximumConnections)
        self.acquireTimeout = acquireTimeout
        self.session = session
        self.metricsLabel = metricsLabel
    }
}

/// Transaction isolation levels.
public enum IsolationLevel: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

/// A bounded pool of libpq connections with scoped leases.
///
/// `withConnection` leases a connection for the duration of its closure and always returns it,
/// whatever the closure does; a connection left inside a transaction is rolled back, and one
/// that broke is dropped and replaced lazily. A connection that died while idle (server
/// restart, `pg_terminate_backend`) is noticed without a round trip when it is leased and
/// replaced, so the caller does not see the error.
public actor ConnectionPool {
    public nonisolated let configuration: PoolConfiguration
    nonisolated let threads: NIOThreadPool
    nonisolated let logger: Logger

    private var idle: [Connection] = []
    private var leased = 0
    private var opening = 0
    private var waiters = Deque<Waiter>()
    private var nextWaiterID = 0
    private var nextConnectionID = 0
    private var closed = false

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Connection, any Error>
    }

    /// Round trips of every connection of this pool.
    public nonisolated let roundTrips: RoundTripTally
    private let inUseGauge: Gauge
    private let idleGauge: Gauge
    private let waitingGauge: Gauge

    public init(_ configuration: PoolConfiguration, logger: Logger = Logger(label: "coalition.db")) {
        self.configuration = configuration
        self.logger = logger
        // Threads for connecting only (libpq's connect blocks); statements run non-blocking.
        self.threads = NIOThreadPool(numberOfThreads: configuration.maximumConnections)
        self.threads.start()
        self.roundTrips = RoundTripTally(metricsLabel: configuration.metricsLabel)
        let name = "coalition_db_pool_connections"
        self.inUseGauge = Gauge(label: name, dimensions: [("pool", configuration.metricsLabel), ("state", "in_use")])
        self.idleGauge = Gauge(label: name, dimensions: [("pool", configuration.metricsLabel), ("state", "idle")])
        self.waitingGauge = Gauge(label: name, dimensions: [("pool", configuration.metricsLabel), ("state", "waiting")])
    }

    /// Counts for health and metrics.
    public struct Statistics: Sendable, Equatable {
        public var inUse: Int
        public var idle: Int
        public var waiting: Int
        public var opening: Int
    }

    public var statistics: Statistics {
        Statistics(inUse: leased, idle: idle.count, waiting: waiters.count, opening: opening)
    }

    // MARK: - leases

    /// Leases a connection for `body`, then returns it to the pool whatever happens.
    public nonisolated func withConnection<T>(_ body: (Connection) async throws -> T) async throws -> T {
        let connection = try await lease()
        let result: T
        do {
            result = try await body(connection)
        } catch {
            await release(connection)
            throw error
        }
        await release(connection)
        return result
    }

    /// Runs `body` inside a transaction. Serialization failures (40001) and deadlocks (40P01)
    /// roll back and run the whole of `body` again, up to `maxAttempts` times.
    @discardableResult
    public nonisolated func transaction<T>(
        isolation: IsolationLevel = .readCommitted, maxAttempts: Int = 5, setup: SQL? = nil,
        _ body: (Connection) async throws -> T
    ) async throws -> T {
        try await settledTransaction(isolation: isolation, maxAttempts: maxAttempts, setup: setup) { .commit(try await body($0)) }
    }

    /// Runs `body` inside a transaction that ends as `body` decides: `.commit(value)` commits,
    /// `.rollback(value)` rolls back and still returns the value (a dry run; an all-or-nothing
    /// batch that found a bad row). Retries as `transaction` does.
    public nonisolated func settledTransaction<T>(
        isolation: IsolationLevel = .readCommitted, maxAttempts: Int = 5, setup: SQL? = nil,
        _ body: (Connection) async throws -> Settlement<T>
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withConnection { connection in
                    try await connection.settledTransaction(isolation: isolation, setup: setup, body)
                }
            } catch let error as PQError where error.isRetryableTransactionFailure && attempt < maxAttempts {
                logger.debug("transaction retried", metadata: ["sqlstate": "\(error.sqlState ?? "")", "attempt": "\(attempt)"])
                // Jittered backoff so that the transactions that collided do not collide again.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
                attempt += 1
            }
        }
    }

    /// Runs a read-only `body` on a leased connection without a transaction block, `setup`
    /// ahead of each flight (`Connection.reading`).
    public nonisolated func reading<T>(setup: SQL, _ body: (Connection) async throws -> T) async throws -> T {
        try await withConnection { try await $0.reading(setup: setup, body) }
    }

    /// Convenience: one statement on a leased connection.
    @discardableResult
    public nonisolated func query(_ sql: SQL) async throws -> QueryResult {
        try await withConnection { try await $0.query(sql) }
    }

    /// Health check: a round trip to the server.
    public nonisolated func ping() async throws {
        try await withConnection { _ = try await $0.query("SELECT 1") }
    }

    // MARK: - lifecycle

    /// Closes idle connections, fails waiters and refuses new leases; leased connections close
    /// when they come back.
    public func close() async {
        guard !closed else { return }
        closed = true
        for waiter in waiters {
            waiter.continuation.resume(throwing: PQError(.poolClosed, message: "the connection pool is closed"))
        }
        waiters.removeAll()
        for connection in idle { connection.close() }
        idle.removeAll()
        updateGauges()
        try? await threads.shutdownGracefully()
    }

    // MARK: - internals

    private func lease() async throws -> Connection {
        if closed { throw PQError(.poolClosed, message: "the connection pool is closed") }
        while let connection = idle.popLast() {
            if connection.isUsable() {
                leased += 1
                updateGauges()
                return connection
            }
            logger.info("replacing a database connection that was closed while idle", metadata: ["connection": "\(connection.id)"])
            connection.close()
        }
        if leased + opening < configuration.maximumConnections {
            return try await openForLease()
        }
        return try await waitForConnection()
    }

    private func openForLease() async throws -> Connection {
        opening += 1
        nextConnectionID += 1
        let id = nextConnectionID
        updateGauges()
        do {
            let connection = try await Connection.connect(
                to: configuration.conninfo, settings: configuration.session, id: id, threads: threads, tally: roundTrips, logger: logger)
            opening -= 1
            if closed {
                connection.close()
                updateGauges()
                throw PQError(.poolClosed, message: "the connection pool is closed")
            }
            leased += 1
            updateGauges()
            return connection
        } catch {
            opening -= 1
            updateGauges()
            throw error
        }
    }

    private func waitForConnection() async throws -> Connection {
        nextWaiterID += 1
        let id = nextWaiterID
        let timeout = configuration.acquireTimeout
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.timeOutWaiter(id)
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters.append(Waiter(id: id, continuation: continuation))
                updateGauges()
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func timeOutWaiter(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        updateGauges()
        let seconds = Double(configuration.acquireTimeout.components.seconds)
            + Double(configuration.acquireTimeout.components.attoseconds) / 1e18
        waiter.continuation.resume(
            throwing: PQError(
                .poolTimeout,
                message: "no database connection became free within \(seconds) s (pool size \(configuration.maximumConnections))"))
    }

    private func cancelWaiter(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        updateGauges()
        waiter.continuation.resume(throwing: PQError(.cancelled, message: "waiting for a connection was cancelled"))
    }

    private func release(_ connection: Connection) async {
        let reusable = await connection.resetForPool()
        giveBack(connection, reusable: reusable)
    }

    private func giveBack(_ connection: Connection, reusable: Bool) {
        leased -= 1
        if closed || !reusable {
            connection.close()
            updateGauges()
            // The slot is free again: open a fresh connection for the first waiter, if any.
            if !closed, !waiters.isEmpty {
                let waiter = waiters.removeFirst()
                updateGauges()
                Task {
                    do {
                        waiter.continuation.resume(returning: try await self.openForLease())
                    } catch {
                        waiter.continuation.resume(throwing: error)
                    }
                }
            }
            return
        }
        if !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            leased += 1
            updateGauges()
            waiter.continuation.resume(returning: connection)
            return
        }
        idle.append(connection)
        updateGauges()
    }

    private func updateGauges() {
        inUseGauge.record(leased)
        idleGauge.record(idle.count)
        waitingGauge.record(waiters.count)
    }
}

/// How a transaction ends: committed, or rolled back on purpose; either way with a value.
public enum Settlement<Value> {
    case commit(Value)
    case rollback(Value)
}

extension Connection {
    /// Runs `body` between BEGIN and COMMIT; any error rolls back and is rethrown unchanged (a
    /// failing ROLLBACK does not hide it: the pool then drops the connection). `setup` is one
    /// statement. BEGIN and `setup` are sent with the body's first statement, in one flight.
    public func transaction<T>(
        isolation: IsolationLevel = .readCommitted, setup: SQL? = nil, _ body: (Connection) async throws -> T
    ) async throws -> T {
        try await settledTransaction(isolation: isolation, setup: setup) { .commit(try await body($0)) }
    }

    /// As `transaction`, but `body` decides whether its work is committed or rolled back. A body
    /// whose last statement carried the COMMIT (`queryAndCommit`) leaves nothing to commit.
    public func settledTransaction<T>(
        isolation: IsolationLevel = .readCommitted, setup: SQL? = nil, _ body: (Connection) async throws -> Settlement<T>
    ) async throws -> T {
        open(with: [SQL("BEGIN ISOLATION LEVEL " + isolation.rawValue)] + (setup.map { [$0] } ?? []))
        defer { closeTransactionScope() }
        do {
            switch try await body(self) {
            case .commit(let value):
                if inTransaction { try await commit() }
                return value
            case .rollback(let value):
                if inTransaction { try await rollback() }
                return value
            }
        } catch {
            if inTransaction { try? await rollback() }
            throw error
        }
    }
}
