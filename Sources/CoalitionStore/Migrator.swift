import Foundation
import Logging
import PQ

/// One forward-only migration file, `sql/migrations/NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String

    /// The file name it came from, for messages.
    public var fileName: String { String(format: "%04d_%@.sql", version, name) }
}

/// What the migrator knows of one migration.
public struct MigrationState: Sendable, Equatable {
    public enum Status: String, Sendable { case applied, pending }
    public var version: Int
    public var name: String
    public var status: Status
    public var appliedAt: Date?
}

/// Errors that stop migration; each names what to fix.
public struct MigrationError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Reads migration files from a directory.
public enum MigrationSource {
    /// Loads `NNNN_name.sql` files in version order; other files are ignored, duplicate
    /// versions refused.
    public static func load(from directory: URL) throws -> [Migration] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError(description: "cannot read the migrations directory \(directory.path)")
        }
        var migrations: [Migration] = []
        for file in files.sorted() where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else {
                throw MigrationError(description: "migration file \(file) is not named NNNN_name.sql")
            }
            if migrations.contains(where: { $0.version == version }) {
                throw MigrationError(description: "two migration files have version \(version)")
            }
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// The first `sql/migrations` directory found: `explicit`, then the working directory, then
    /// the folders above the executable (a build tree or an installed layout).
    public static func locate(explicit: String?) -> URL? {
        let fm = FileManager.default
        if let explicit, !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        var candidates = [URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("sql/migrations")]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent("sql/migrations"))
            candidates.append(dir.appendingPathComponent("share/coalition/sql/migrations"))
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { fm.fileExists(atPath: $0.path) }
    }
}

/// Applies migrations in order, each in its own transaction, recorded with a checksum, under
/// a session advisory lock so that several processes migrating at once take turns.
public struct Migrator: Sendable {
    /// `pg_advisory_lock` key: "coalitn" in ASCII, fixed so every instance agrees.
    static let lockKey: Int64 = 0x636F_616C_6974_6E
    public let migrations: [Migration]
    let logger: Logger

    public init(migrations: [Migration], logger: Logger = Logger(label: "coalition.migrate")) {
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies every pending migration; returns the ones applied. Refuses (before applying
    /// anything) when an applied file was edited or the database is ahead of this build.
    @discardableResult
    public func migrate(_ connection: Connection) async throws -> [Migration] {
        try await withLock(connection) {
            let applied = try await checkedAppliedVersions(connection)
            var done: [Migration] = []
            for migration in migrations where applied[migration.version] == nil {
                logger.info("applying migration", metadata: ["file": "\(migration.fileName)"])
                try await connection.transaction { tx in
                    do {
                        try await tx.executeScript(migration.sql)
                    } catch let error as PQError {
                        throw MigrationError(description: "migration \(migration.fileName) failed: \(error)")
                    }
                    try await tx.execute("""
                        INSERT INTO schema_migrations (version, name, checksum)
                        VALUES (\(migration.version), \(migration.name), encode(sha256(convert_to(\(migration.sql), 'UTF8')), 'hex'))
                        """)
                }
                done.append(migration)
            }
            return done
        }
    }

    /// Every known migration with its state; also runs the edited-file and ahead-of-build checks.
    public func status(_ connection: Connection) async throws -> [MigrationState] {
        guard try await ledgerReadable(connection) else {
            return migrations.map { MigrationState(version: $0.version, name: $0.name, status: .pending, appliedAt: nil) }
        }
        _ = try await checkedAppliedVersions(connection)
        let rows = try await connection.query("SELECT version, applied_at FROM schema_migrations")
        var appliedAt: [Int: Date] = [:]
        for row in rows { appliedAt[try row.decode("version")] = try row.decode("applied_at", as: Date.self) }
        return migrations.map {
            MigrationState(
                version: $0.version, name: $0.name, status: appliedAt[$0.version] == nil ? .pending : .applied,
                appliedAt: appliedAt[$0.version])
        }
    }

    /// The versions not yet applied, without taking the lock (for `serve`'s startup check and
    /// the readiness probe). A missing table counts as everything pending.
    public func pendingVersions(_ connection: Connection) async throws -> [Int] {
        guard try await ledgerReadable(connection) else { return migrations.map(\.version) }
        let rows = try await connection.query("SELECT version FROM schema_migrations")
        let applied = Set(try rows.map { try $0.decode("version", as: Int.self) })
        return migrations.map(\.version).filter { !applied.contains($0) }
    }

    // MARK: - internals

    /// False before the first migration: no ledger yet, or (app role) not yet granted on it.
    private func ledgerReadable(_ connection: Connection) async throws -> Bool {
        let row = try await connection.query("""
            SELECT to_regclass('schema_migrations') IS NOT NULL
                   AND has_table_privilege('schema_migrations', 'SELECT') AS readable
            """)[0]
        return try row.decode("readable", as: Bool.self)
    }

    private func withLock<T>(_ connection: Connection, _ body: () async throws -> T) async throws -> T {
        try await connection.execute("SELECT pg_advisory_lock(\(Self.lockKey))")
        do {
            try await ensureTable(connection)
            let result = try await body()
            try await connection.execute("SELECT pg_advisory_unlock(\(Self.lockKey))")
            return result
        } catch {
            _ = try? await connection.execute("SELECT pg_advisory_unlock(\(Self.lockKey))")
            throw error
        }
    }

    private func ensureTable(_ connection: Connection) async throws {
        try await connection.executeScript("""
            SET client_min_messages = warning;
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            RESET client_min_messages;
            """)
    }

    /// Applied versions and checksums, after verifying that each applied file is unchanged and
    /// that the database has no migration this build does not know.
    private func checkedAppliedVersions(_ connection: Connection) async throws -> [Int: String] {
        let rows = try await connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        var applied: [Int: String] = [:]
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        let sums = try await checksums(connection)
        for row in rows {
            let version: Int = try row.decode("version")
            let name: String = try row.decode("name")
            let checksum: String = try row.decode("checksum")
            guard let migration = known[version] else {
                throw MigrationError(
                    description: "the database has migration \(String(format: "%04d", version))_\(name) applied, which this build does not have; use a newer build")
            }
            if sums[version] != checksum {
                throw MigrationError(
                    description: "migration \(migration.fileName) was edited after it was applied (checksum differs); restore the file and add a new migration instead")
            }
            applied[version] = checksum
        }
        return applied
    }

    /// SHA-256 of each file's text, computed by the server so both sides agree byte for byte.
    private func checksums(_ connection: Connection) async throws -> [Int: String] {
        guard !migrations.isEmpty else { return [:] }
        let rows = try await connection.query("""
            SELECT v AS version, encode(sha256(convert_to(s, 'UTF8')), 'hex') AS checksum
            FROM unnest(\(migrations.map(\.version)), \(migrations.map(\.sql))) AS m(v, s)
            """)
        var sums: [Int: String] = [:]
        for row in rows { sums[try row.decode("version")] = try row.decode("checksum") }
        return sums
    }
}

