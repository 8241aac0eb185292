import Foundation
import NIOHTTP1
import PQ
import Testing

@Suite("Audit trail")
struct AuditTests {
    @Test func everyMutationIsAuditedAndTheChainVerifies() async throws {
        let f = try await CoalitionFixture.start()
        _ = try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "viewerA@fixture.test", "password": "not the password"])
        _ = try await f.call(.PATCH, "/v1/organizations/\(f.memberA)", as: "coalition_admin", json: ["name": "Member A Ltd"])
        let verify = try await f.call(.GET, "/v1/audit/verify", as: "auditor")
        #expect(verify.status == 200)
        #expect(verify.json?["ok"] as? Bool == true)
        #expect(verify.json?["first_bad_seq"] is NSNull)
        var actions: [String] = []
        var cursor: String?
        repeat {
            let page = try await f.call(.GET, "/v1/audit?limit=100" + (cursor.map { "&cursor=\($0)" } ?? ""), as: "auditor")
            actions += (page.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
            cursor = page.json?["next_cursor"] as? String
        } while cursor != nil
        for action in ["coalition.bootstrap", "organization.create", "organization.update", "user.create", "user.update",
                       "auth.login", "auth.login_failed", "token.create", "token.revoke"] {
            #expect(actions.contains(action), "no \(action) entry")
        }
        #expect((verify.json?["entries"] as? Int) ?? 0 >= actions.count - 2)
        try await f.stop()
    }

    @Test func anOwnerEditOfOneEntryIsDetectedAtItsSeq() async throws {
        let f = try await CoalitionFixture.start()
        let before = try await f.call(.GET, "/v1/audit/verify", as: "coalition_admin")
        #expect(before.json?["ok"] as? Bool == true)
        let entries = try #require(before.json?["entries"] as? Int)
        #expect(entries >= 5)
        try await withOwnerConnection(database: f.db.name) { (conn: Connection) async throws in
            try await conn.executeScript("""
                ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
                UPDATE audit_log SET data = jsonb_set(data, '{name}', '"tampered"') WHERE seq = 3;
                ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;
                """)
        }
        let after = try await f.call(.GET, "/v1/audit/verify", as: "coalition_admin")
        #expect(after.json?["ok"] as? Bool == false)
        #expect(after.json?["first_bad_seq"] as? Int == 3)
        let (status, out, _) = try await run("coalition-server", ["audit-verify"], environment: ["DATABASE_URL": try f.db.appURL])
        #expect(status == 1)
        #expect(out.contains("\"first_bad_seq\":3"))
        try await f.stop()
    }

    @Test func theAppRoleCannotUpdateOrDeleteEntries() async throws {
        let f = try await CoalitionFixture.start()
        let pool = try f.db.appPool(size: 1)
        try await TestDatabase.using(pool) { (pool: ConnectionPool) async throws in
            for statement in ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"] {
                let error = await #expect(throws: PQError.self) { try await pool.query(SQL(statement)) }
                #expect(error?.condition == .insufficientPrivilege, "\(statement)")
            }
        }
        // Even the owner cannot while the trigger is on.
        try await withOwnerConnection(database: f.db.name) { (conn: Connection) async throws in
            let error = await #expect(throws: PQError.self) { try await conn.query("DELETE FROM audit_log WHERE seq = 1") }
            #expect(error?.message.contains("append-only") == true)
        }
        let (status, out, _) = try await run("coalition-server", ["audit-verify"], environment: ["DATABASE_URL": try f.db.appURL])
        #expect(status == 0)
        #expect(out.contains("\"ok\":true"))
        try await f.stop()
    }

    @Test func bootstrapIsIdempotentAndSaysSo() async throws {
        let db = try await TestDatabase.migrated()
        let env: [String: String?] = ["COALITION_OWNER_DATABASE_URL": try db.ownerURL, "COALITION_BCRYPT_COST": "4"]
        let (first, out1, _) = try await run("coalition-server", ["bootstrap", "--admin-email", "a@b.test", "--admin-password", "long enough secret"], environment: env)
        #expect(first == 0)
        #expect(out1.contains("created the secretariat"))
        let (second, out2, _) = try await run("coalition-server", ["bootstrap", "--admin-email", "other@b.test", "--admin-password", "long enough secret"], environment: env)
        #expect(second == 0)
        #expect(out2.contains("nothing changed"))
        let (bad, _, err) = try await run("coalition-server", ["bootstrap", "--admin-email", "nope", "--admin-password", "short"], environment: env)
        #expect(bad != 0)
        #expect(err.contains("--admin-email"))
        let admins = try await withOwnerConnection(database: db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT count(*) AS n FROM users WHERE role = 'coalition_admin'")[0].decode("n", as: Int.self)
        }
        #expect(admins == 1)
    }
}
