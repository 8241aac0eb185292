import Foundation
import Logging
import PQ
import Testing

@testable import CoalitionStore

/// The throwaway PostgreSQL that `scripts/test` starts. Tests that need it fail (never skip)
/// when it is not there.
enum TestEnvironment {
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    static func value(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw Missing(description: "\(name) is not set: run the tests with scripts/test, which starts PostgreSQL")
        }
        return value
    }

    static var host: String { get throws { try value("COALITION_TEST_PGHOST") } }
    static var port: String { get throws { try value("COALITION_TEST_PGPORT") } }
    static var ownerPassword: String { get throws { try value("COALITION_TEST_OWNER_PASSWORD") } }
    static var appPassword: String { get throws { try value("COALITION_TEST_APP_PASSWORD") } }
    /// Superuser connection (unix socket), for terminating backends and other admin acts.
    static var superuserURL: String { get throws { try value("COALITION_TEST_SUPERUSER_URL") } }

    static func ownerURL(database: String) throws -> String {
        "postgresql://coalition_owner:\(try ownerPassword)@\(try host):\(try port)/\(database)"
    }

    /// The app role's URL: through the transaction-mode pooler when the run has one
    /// (`COALITION_TEST_POOLER_PORT`, set by `scripts/topology-test`), else straight to PostgreSQL.
    static func appURL(database: String) throws -> String {
        "postgresql://coalition_app:\(try appPassword)@\(try host):\(try poolerPort ?? port)/\(database)"
    }

    /// The app role straight to PostgreSQL, for what a pooler cannot carry (LISTEN).
    static func directAppURL(database: String) throws -> String {
        "postgresql://coalition_app:\(try appPassword)@\(try host):\(try port)/\(database)"
    }

    /// PgBouncer in transaction mode between the servers (and app-role pools) and PostgreSQL.
    static var poolerPort: String? {
        ProcessInfo.processInfo.environment["COALITION_TEST_POOLER_PORT"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// How many server processes `ServerProcess.start` runs behind one load balancer
    /// (`COALITION_TEST_INSTANCES`, 1 or 2; 2 needs haproxy).
    static var instances: Int {
        Int(ProcessInfo.processInfo.environment["COALITION_TEST_INSTANCES"] ?? "") ?? 1
    }

    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var migrationsDirectory: URL { repositoryRoot.appendingPathComponent("sql/migrations") }

    /// Where the built `coalition-server` and `coalition` are.
    static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["COALITION_BIN_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return repositoryRoot.appendingPathComponent(".build/debug")
    }

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()
}

/// A database of its own for one test, cloned from a template migrated once per run.
struct TestDatabase: Sendable {
    let name: String

    var ownerURL: String { get throws { try TestEnvironment.ownerURL(database: name) } }
    var appURL: String { get throws { try TestEnvironment.appURL(database: name) } }
    var directAppURL: String { get throws { try TestEnvironment.directAppURL(database: name) } }
    /// The cluster's superuser, on this database.
    var superuserURL: String { get throws { try TestEnvironment.superuserURL.replacingOccurrences(of: "dbname=postgres", with: "dbname=\(name)") } }

    /// A fresh database with every migration of `sql/migrations` applied.
    static func migrated() async throws -> TestDatabase {
        try await TemplateDatabase.shared.ensureMigrated()
        return try await create(template: TemplateDatabase.name)
    }

    /// A fresh database with nothing in it (for migrator tests).
    static func empty() async throws -> TestDatabase {
        try await create(template: "template0")
    }

    private static func create(template: String) async throws -> TestDatabase {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try await withOwnerConnection(database: "postgres") { conn in
            try await conn.executeScript("CREATE DATABASE \(name) TEMPLATE \(template) OWNER coalition_owner")
        }
        return TestDatabase(name: String(name))
    }

    /// A pool for the app role on this database.
    func appPool(size: Int = 4, acquireTimeout: Duration = .seconds(5), statementTimeoutMilliseconds: Int = 30_000) throws -> ConnectionPool {
        ConnectionPool(
            PoolConfiguration(
                conninfo: try appURL, maximumConnections: size, acquireTimeout: acquireTimeout,
                session: SessionSettings(
                    statementTimeoutMilliseconds: statementTimeoutMilliseconds,
                    // PgBouncer 1.18 (Debian 12) cannot carry named prepared statements in transaction mode.
                    preparesStatements: TestEnvironment.poolerPort == nil),
                metricsLabel: "test-\(name)"),
            logger: TestEnvironment.logger)
    }

    /// A pool for the owner role on this database.
    func ownerPool(size: Int = 2) throws -> ConnectionPool {
        ConnectionPool(
            PoolConfiguration(conninfo: try ownerURL, maximumConnections: size, metricsLabel: "test-owner-\(name)"),
            logger: TestEnvironment.logger)
    }

    /// Runs `body` on a pool and closes the pool afterwards, whatever happens.
    static func using<T>(_ pool: ConnectionPool, _ body: (ConnectionPool) async throws -> T) async throws -> T {
        do {
            let result = try await body(pool)
            await pool.close()
            return result
        } catch {
            await pool.close()
            throw error
        }
    }
}

/// Runs `body` on a one-off owner-role connection to `database`.
func withOwnerConnection<T>(database: String, _ body: (Connection) async throws -> T) async throws -> T {
    let pool = ConnectionPool(
        PoolConfiguration(conninfo: try TestEnvironment.ownerURL(database: database), maximumConnections: 1, metricsLabel: "test-admin"),
        logger: TestEnvironment.logger)
    return try await TestDatabase.using(pool) { try await $0.withConnection(body) }
}

/// Runs `body` as the superuser on one test database: for inspecting what is stored, past
/// row-level security (which binds even the owner on the tables that FORCE it).
func withSuperuserConnection<T>(database: String, _ body: (Connection) async throws -> T) async throws -> T {
    let pool = ConnectionPool(
        PoolConfiguration(
            conninfo: try TestEnvironment.superuserURL.replacingOccurrences(of: "dbname=postgres", with: "dbname=\(database)"),
            maximumConnections: 1, metricsLabel: "test-super"),
        logger: TestEnvironment.logger)
    return try await TestDatabase.using(pool) { try await $0.withConnection(body) }
}

/// Runs `body` on a one-off superuser connection.
func withSuperuserConnection<T>(_ body: (Connection) async throws -> T) async throws -> T {
    let pool = ConnectionPool(
        PoolConfiguration(conninfo: try TestEnvironment.superuserURL, maximumConnections: 1, metricsLabel: "test-super"),
        logger: TestEnvironment.logger)
    return try await TestDatabase.using(pool) { try await $0.withConnection(body) }
}

/// The template every migrated test database is cloned from; migrated once per test process.
actor TemplateDatabase {
    static let shared = TemplateDatabase()
    static let name = "coalition_template"
    private var ready: Task<Void, any Error>?

    func ensureMigrated() async throws {
        if ready == nil {
            ready = Task {
                try await withOwnerConnection(database: "postgres") { conn in
                    let exists = try await conn.query("SELECT 1 FROM pg_database WHERE datname = \(Self.name)")
                    if exists.isEmpty {
                        try await conn.executeScript("CREATE DATABASE \(Self.name) OWNER coalition_owner")
                    }
                }
                let migrations = try MigrationSource.load(from: TestEnvironment.migrationsDirectory)
                _ = try await withOwnerConnection(database: Self.name) { conn in
                    try await Migrator(migrations: migrations, logger: TestEnvironment.logger).migrate(conn)
                }
            }
        }
        try await ready!.value
    }
}

/// Takes a test database away from its server: no new connections, and every backend on it
/// ended. Repeated until none is left (at most 3 s), since a connection the server was opening
/// at that moment is not yet listed and would survive a single pass.
func takeDatabaseAway(_ db: TestDatabase) async throws {
    try await withSuperuserConnection { (conn: Connection) async throws in
        try await conn.executeScript("ALTER DATABASE \(db.name) ALLOW_CONNECTIONS false")
        let deadline = ContinuousClock.now + .seconds(3)
        var quiet = 0
        while quiet < 2 && ContinuousClock.now < deadline {
            let ended = try await conn.query("SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = \(db.name)")[0]
                .decode("n", as: Int.self)
            quiet = ended == 0 ? quiet + 1 : 0
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
