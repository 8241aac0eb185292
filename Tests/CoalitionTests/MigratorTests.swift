import Foundation
import PQ
import Testing

@testable import CoalitionStore

@Suite("Migrator")
struct MigratorTests {
    static let first = Migration(version: 1, name: "create_notes", sql: "CREATE TABLE notes (id int PRIMARY KEY);")
    static let second = Migration(version: 2, name: "add_body", sql: "ALTER TABLE notes ADD COLUMN body text NOT NULL DEFAULT '';")

    @Test func appliesInOrderOnceAndRecordsChecksums() async throws {
        let db = try await TestDatabase.empty()
        try await TestDatabase.using(try db.ownerPool(size: 1)) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { (conn: Connection) async throws in
                let migrator = Migrator(migrations: [Self.first, Self.second], logger: TestEnvironment.logger)
                #expect(try await migrator.status(conn).map(\.status) == [.pending, .pending])
                let applied = try await migrator.migrate(conn)
                #expect(applied.map(\.version) == [1, 2])
                #expect(try await migrator.migrate(conn).isEmpty, "a second run applies nothing")
                #expect(try await migrator.status(conn).map(\.status) == [.applied, .applied])
                #expect(try await migrator.pendingVersions(conn).isEmpty)
                let rows = try await conn.query("SELECT version, checksum FROM schema_migrations ORDER BY version")
                #expect(try rows.map { try $0.decode("version", as: Int.self) } == [1, 2])
                #expect(try rows.allSatisfy { try $0.decode("checksum", as: String.self).count == 64 })
                _ = try await conn.query("INSERT INTO notes (id, body) VALUES (1, 'x')")
            }
        }
    }

    @Test func editedAppliedFileIsRefusedByName() async throws {
        let db = try await TestDatabase.empty()
        try await TestDatabase.using(try db.ownerPool(size: 1)) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { (conn: Connection) async throws in
                try await Migrator(migrations: [Self.first], logger: TestEnvironment.logger).migrate(conn)
                var edited = Self.first
                edited.sql += "\n-- an innocent-looking edit\n"
                let migrator = Migrator(migrations: [edited, Self.second], logger: TestEnvironment.logger)
                let error = await #expect(throws: MigrationError.self) { try await migrator.migrate(conn) }
                #expect(error?.description.contains("0001_create_notes.sql") == true)
                #expect(error?.description.contains("edited") == true)
                // Nothing after the refusal was applied.
                #expect(try await conn.query("SELECT count(*) AS c FROM schema_migrations")[0].decode("c", as: Int.self) == 1)
            }
        }
    }

    @Test func databaseAheadOfTheBuildIsRefused() async throws {
        let db = try await TestDatabase.empty()
        try await TestDatabase.using(try db.ownerPool(size: 1)) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { (conn: Connection) async throws in
                try await Migrator(migrations: [Self.first, Self.second], logger: TestEnvironment.logger).migrate(conn)
                let older = Migrator(migrations: [Self.first], logger: TestEnvironment.logger)
                let error = await #expect(throws: MigrationError.self) { try await older.migrate(conn) }
                #expect(error?.description.contains("0002_add_body") == true)
            }
        }
    }

    @Test func failingMigrationLeavesNothingBehind() async throws {
        let db = try await TestDatabase.empty()
        try await TestDatabase.using(try db.ownerPool(size: 1)) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { (conn: Connection) async throws in
                let broken = Migration(version: 2, name: "broken", sql: "CREATE TABLE half (id int); SELECT no_such_function();")
                let migrator = Migrator(migrations: [Self.first, broken], logger: TestEnvironment.logger)
                let error = await #expect(throws: MigrationError.self) { try await migrator.migrate(conn) }
                #expect(error?.description.contains("0002_broken.sql") == true)
                #expect(try await conn.query("SELECT to_regclass('half') IS NULL AS gone")[0].decode("gone", as: Bool.self))
                #expect(try await migrator.pendingVersions(conn) == [2])
            }
        }
    }

    @Test func concurrentMigratorsTakeTurns() async throws {
        let db = try await TestDatabase.empty()
        let slow = Migration(version: 2, name: "slow", sql: "SELECT pg_sleep(0.5); CREATE TABLE slow (id int);")
        let migrations = [Self.first, slow, Self.second.renumbered(3)]
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await TestDatabase.using(try db.ownerPool(size: 1)) { (pool: ConnectionPool) async throws in
                        try await pool.withConnection { (conn: Connection) async throws in
                            try await Migrator(migrations: migrations, logger: TestEnvironment.logger).migrate(conn).count
                        }
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(counts.reduce(0, +) == 3, "each migration applied exactly once across the three migrators: \(counts)")
        try await withOwnerConnection(database: db.name) { (conn: Connection) async throws in
            #expect(try await conn.query("SELECT count(*) AS c FROM schema_migrations")[0].decode("c", as: Int.self) == 3)
        }
    }

    @Test func repositoryMigrationsLoadInOrderAndGrantTheAppRole() async throws {
        let migrations = try MigrationSource.load(from: TestEnvironment.migrationsDirectory)
        #expect(!migrations.isEmpty)
        #expect(migrations.map(\.version) == migrations.map(\.version).sorted())
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool(size: 1)) { (pool: ConnectionPool) async throws in
            let row = try await pool.query("""
                SELECT current_user AS who, r.rolbypassrls AS bypass, r.rolsuper AS super
                FROM pg_roles r WHERE r.rolname = current_user
                """)[0]
            #expect(try row.decode("who", as: String.self) == "coalition_app")
            #expect(try row.decode("bypass", as: Bool.self) == false)
            #expect(try row.decode("super", as: Bool.self) == false)
            try await pool.withConnection { (conn: Connection) async throws in
                #expect(try await Migrator(migrations: migrations).pendingVersions(conn).isEmpty)
            }
        }
    }

    @Test func badlyNamedFileIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("migr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "SELECT 1;".write(to: dir.appendingPathComponent("create.sql"), atomically: true, encoding: .utf8)
        let error = #expect(throws: MigrationError.self) { try MigrationSource.load(from: dir) }
        #expect(error?.description.contains("create.sql") == true)
    }
}

extension Migration {
    func renumbered(_ version: Int) -> Migration {
        var copy = self
        copy.version = version
        return copy
    }
}
