import CoalitionDomain
import CoalitionModels
import Foundation
import NIOHTTP1
import PQ
import Testing

@testable import CoalitionAPI
@testable import CoalitionStore

/// Hostile input and operator faults (issue 10): each test failed before its fix.
@Suite("Hardening: hostile input, limits, faults")
struct HardeningTests {
    @Test func aMillionDigitDecimalIsRefusedUnreadInLinearTime() async throws {
        let hostile = String(repeating: "0", count: 1_000_000) + "1"
        let start = ContinuousClock.now
        #expect(ExactDecimal.parse(hostile) == .failure(.tooLong))
        #expect(ExactDecimal.parse(String(repeating: "0", count: 64)) == .success(0), "64 characters are still read")
        #expect(ExactDecimal.parse("000000000000000000000000000000000000000000000012.50000000000000") == .success(Decimal(string: "12.5")!))
        #expect(ContinuousClock.now - start < .milliseconds(200))

        let p = try await ProjectFixture.start()
        let r = try await p.submit(p.tonnes, report("2026-01-01", "2026-01-31", hostile))
        #expect(r.status == 422)
        let errors = r.json?["errors"] as? [[String: Any]] ?? []
        #expect(errors.contains { $0["field"] as? String == "value" && ($0["message"] as? String)?.contains("at most 64 characters") == true }, "\(r.text.prefix(300))")
        let target = try await p.f.call(.PATCH, "/v1/milestones/\(p.tonnes)", as: "coalition_admin", json: ["target_value": hostile])
        #expect(target.status == 422)
        #expect((target.json?["errors"] as? [[String: Any]])?.first?["field"] as? String == "target_value")
        let stored = try await withSuperuserConnection(database: p.f.db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT count(*) AS n FROM submissions")[0].decode("n", as: Int.self)
        }
        #expect(stored == 0)
        try await p.f.stop()
    }

    @Test func aSecondServerOnATakenPortExitsAtOnceNamingThePort() async throws {
        let db = try await TestDatabase.migrated()
        let first = try await ServerProcess.start(database: db)
        let port = RawConnection.port(of: first.baseURL)
        let started = ContinuousClock.now
        let (status, _, stderr) = try await run("coalition-server", ["serve", "--host", "127.0.0.1", "--port", String(port)], environment: [
            "DATABASE_URL": try db.appURL, "COALITION_MIGRATIONS_DIR": TestEnvironment.migrationsDirectory.path,
        ])
        #expect(status == 1)
        #expect(ContinuousClock.now - started < .seconds(10))
        let lines = stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(stderr)")
        #expect(stderr.contains("cannot listen on 127.0.0.1:\(port)") && stderr.contains("in use"), "\(stderr)")
        #expect(try await first.stop() == 0)
    }

    @Test func sigtermEndsTheServerAtOnceWhileTheDatabaseIsAway() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db)
        try await takeDatabaseAway(db)
        // Let the audit sealer meet the outage first. Readiness answers in time even behind
        // PgBouncer, which holds a query while PostgreSQL is away.
        let asked = ContinuousClock.now
        #expect(try await http(.GET, server.baseURL + "/health/ready").status == 503)
        #expect(ContinuousClock.now - asked < .seconds(4))
        try await Task.sleep(for: .seconds(1.5))
        let started = ContinuousClock.now
        server.child.signal(SIGTERM)
        let status = try await server.child.waitForExit(timeout: .seconds(10))
        #expect(status == 0)
        // Behind PgBouncer a query the sealer had sent waits up to its query_wait_timeout (5 s).
        #expect(ContinuousClock.now - started < .seconds(TestEnvironment.poolerPort == nil ? 5 : 9))
        try await withSuperuserConnection { (conn: Connection) async throws in
            try await conn.executeScript("ALTER DATABASE \(db.name) ALLOW_CONNECTIONS true")
        }
    }

    @Test func aStalledRequestIsAnswered408AndIdleConnectionsAreClosed() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db, environment: [
            // The read deadline below the idle timeout, as in production (30 s and 60 s).
            "COALITION_REQUEST_READ_TIMEOUT_SECONDS": "1", "COALITION_IDLE_TIMEOUT_SECONDS": "3",
        ])
        let port = RawConnection.port(of: server.baseURL)
        let stalled = try RawConnection(port: port)
        try stalled.send("POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":")
        let started = ContinuousClock.now
        let answer = stalled.receive(timeout: .seconds(8), untilClosed: true)
        #expect(RawConnection.status(answer.text) == 408, "\(answer.text)")
        #expect(answer.text.contains("application/problem+json"))
        #expect(answer.text.lowercased().contains("x-request-id:"))
        #expect(answer.closed)
        #expect(ContinuousClock.now - started < .seconds(5))

        let idle = try RawConnection(port: port)
        let quiet = idle.receive(timeout: .seconds(8), untilClosed: true)
        #expect(quiet.closed && quiet.text.isEmpty, "an idle connection is closed without a word")

        // A keep-alive connection is served, then closed when it idles.
        let keepAlive = try RawConnection(port: port)
        try keepAlive.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(RawConnection.status(keepAlive.receive(timeout: .seconds(5)).text) == 200)
        #expect(keepAlive.receive(timeout: .seconds(8), untilClosed: true).closed)
        #expect(try await server.stop() == 0)
    }

    @Test func oversizedHeaderSectionsAreAnswered431() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db, environment: ["COALITION_MAX_HEADER_BYTES": "4096", "COALITION_MAX_HEADER_COUNT": "20"])
        let port = RawConnection.port(of: server.baseURL)
        let big = try RawConnection(port: port)
        try big.send("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Padding: \(String(repeating: "a", count: 8000))\r\n\r\n")
        let bigAnswer = big.receive(timeout: .seconds(5), untilClosed: true)
        #expect(RawConnection.status(bigAnswer.text) == 431, "\(bigAnswer.text.prefix(200))")
        #expect(bigAnswer.text.contains("application/problem+json"))
        let many = try RawConnection(port: port)
        try many.send("GET /health/live HTTP/1.1\r\nHost: x\r\n" + (0..<40).map { "X-H\($0): v\r\n" }.joined() + "\r\n")
        #expect(RawConnection.status(many.receive(timeout: .seconds(5), untilClosed: true).text) == 431)
        // Within the limits all is well.
        #expect(try await http(.GET, server.baseURL + "/health/live", headers: [("X-Small", "yes")]).status == 200)
        #expect(try await server.stop() == 0)
    }

    @Test func connectionsBeyondTheCapWaitUntilOneCloses() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db, environment: ["COALITION_MAX_CONNECTIONS": "2"])
        let port = RawConnection.port(of: server.baseURL)
        var held = [try RawConnection(port: port), try RawConnection(port: port)]
        for c in held {
            try c.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(RawConnection.status(c.receive(timeout: .seconds(5)).text) == 200)
        }
        let third = try RawConnection(port: port)
        try third.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(third.receive(timeout: .seconds(1.5)).text.isEmpty, "not served while two connections are open")
        held.removeFirst()
        #expect(RawConnection.status(third.receive(timeout: .seconds(5)).text) == 200, "served once one closed")
        #expect(try await server.stop() == 0)
    }

    @Test func nobodyCanLockAUserOutFromAnotherAddress() async throws {
        let f = try await CoalitionFixture.start(environment: ["COALITION_LOGIN_FAILURES_PER_EMAIL": "3", "COALITION_LOGIN_FAILURES_PER_ADDRESS": "100"])
        let port = RawConnection.port(of: f.server.baseURL)
        func login(from address: String, _ password: String) throws -> String {
            let connection = try RawConnection(port: port, from: address)
            try connection.send(rawJSONRequest("POST", "/v1/auth/login", json: #"{"email":"editorA@fixture.test","password":"\#(password)"}"#))
            return connection.receive(timeout: .seconds(20)).text
        }
        for _ in 0..<3 { #expect(RawConnection.status(try login(from: "127.0.0.1", "wrong-password-1")) == 401) }
        let blocked = try login(from: "127.0.0.1", CoalitionFixture.password)
        #expect(RawConnection.status(blocked) == 429, "guessing from one address is stopped: \(blocked.prefix(200))")
        #expect(blocked.lowercased().contains("retry-after:"))
        let elsewhere = try login(from: "127.0.0.2", CoalitionFixture.password)
        #expect(RawConnection.status(elsewhere) == 200, "the right password from another address still works: \(elsewhere.prefix(200))")
        for _ in 0..<3 { #expect(RawConnection.status(try login(from: "127.0.0.3", "wrong-password-2")) == 401) }
        #expect(RawConnection.status(try login(from: "127.0.0.3", CoalitionFixture.password)) == 429, "and from a second guessing address too")
        let slowed = ContinuousClock.now
        #expect(RawConnection.status(try login(from: "127.0.0.4", CoalitionFixture.password)) == 200)
        #expect(ContinuousClock.now - slowed >= .milliseconds(250), "after many failures from anywhere, logins are slowed down")
        try await f.stop()
    }

    @Test func passwordsWithNULAreRefusedAndOwnChangesNeedTheCurrentPassword() async throws {
        let f = try await CoalitionFixture.start()
        let nul = try await f.call(.POST, "/v1/organizations/\(f.memberA)/users", as: "coalition_admin", json: [
            "email": "nul@fixture.test", "display_name": "Nul", "role": "member_viewer", "password": "correct horse\u{0}battery staple",
        ])
        #expect(nul.status == 422)
        #expect((nul.json?["errors"] as? [[String: Any]])?.first?["field"] as? String == "password")
        #expect(Validate.password("twelve bytes\u{0}") != nil)

        let me = f.users["editorA"]!
        let fresh = "a brand new passphrase"
        let missing = try await f.call(.PATCH, "/v1/users/\(me)", as: "member_editor", json: ["password": fresh])
        #expect(missing.status == 422)
        #expect((missing.json?["errors"] as? [[String: Any]])?.contains { $0["field"] as? String == "current_password" } == true)
        let wrong = try await f.call(.PATCH, "/v1/users/\(me)", as: "member_editor", json: ["password": fresh, "current_password": "not my password"])
        #expect(wrong.status == 422)
        #expect((wrong.json?["errors"] as? [[String: Any]])?.first?["message"] as? String == "is not your current password")
        #expect(try await CoalitionFixture.login(f.server, "editorA@fixture.test", CoalitionFixture.password).hasPrefix("clc_"), "nothing changed")
        let right = try await f.call(.PATCH, "/v1/users/\(me)", as: "member_editor", json: ["password": fresh, "current_password": CoalitionFixture.password])
        #expect(right.status == 200, "\(right.text)")
        #expect(try await CoalitionFixture.login(f.server, "editorA@fixture.test", fresh).hasPrefix("clc_"))

        // An admin resetting someone else's password needs no current password, and may not send one.
        let viewer = f.users["viewerA"]!
        let needless = try await f.call(.PATCH, "/v1/users/\(viewer)", as: "member_admin", json: ["password": fresh, "current_password": "x"])
        #expect(needless.status == 422)
        #expect(try await f.call(.PATCH, "/v1/users/\(viewer)", as: "member_admin", json: ["password": fresh]).status == 200)
        #expect(try await CoalitionFixture.login(f.server, "viewerA@fixture.test", fresh).hasPrefix("clc_"))
        try await f.stop()
    }

    /// The peak resident memory of a process so far (VmHWM), in bytes.
    static func peakMemory(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        return (Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0) * 1024
    }

    @Test func aGarbageBulkFileIsRefusedAtTheRowCapWithoutHoldingIt() async throws {
        let p = try await ProjectFixture.start()
        let pid = p.f.server.child.process.processIdentifier
        // Warm up: one small upload, so that the baseline includes what any upload touches.
        #expect(try await upload(p, BulkTests.csv(0..<10)).status == 200)
        let before = try Self.peakMemory(pid)
        var garbage = Data("project,milestone,period_start,period_end,value,unit\n".utf8)
        garbage.append(Data(repeating: 0, count: 40_000_000))
        garbage.withUnsafeMutableBytes { bytes in
            for i in stride(from: 53, to: bytes.count, by: 2) {
                bytes[i] = UInt8(ascii: "x")
                if i + 1 < bytes.count { bytes[i + 1] = UInt8(ascii: "\n") }
            }
        }
        let r = try await CoalitionFixture.call(p.f.server, .POST, "/v1/submissions/bulk", token: p.f.tokens["member_editor"], raw: garbage,
                                                headers: [("Content-Type", "text/csv")])
        #expect(r.status == 413, "\(r.text.prefix(300))")
        #expect((r.json?["detail"] as? String)?.contains("more than 50000 rows") == true)
        let grown = try Self.peakMemory(pid) - before
        #expect(grown < 100 << 20, "the server's peak memory grew by \(grown >> 20) MB for a 40 MB garbage file")
        #expect(try await storedCount(p) == 10)
        try await p.f.stop()
    }

    @Test func brokenLinesAreRejectedRowsAndTheRestIsStored() async throws {
        let p = try await ProjectFixture.start()
        let nd = """
            {"project":"rpet-recycling","milestone":"rpet-tonnes","period_start":"2026-02-01","period_end":"2026-02-28","value":"2","unit":"t"}
            {"project":"rpet-recycling","milestone":"rpet-tonnes","period_start":"2026-03-01",
            [1, 2]
            {"project":"rpet-recycling","milestone":"rpet-tonnes","colour":"green"}
            {"project":"rpet-recycling","milestone":"rpet-tonnes","period_start":"2026-04-01","period_end":"2026-04-30","value":"3","unit":"t"}
            """
        let r = try await upload(p, nd, contentType: "application/x-ndjson")
        #expect(r.status == 200, "\(r.text)")
        #expect(r.json?["accepted"] as? Int == 2)
        #expect(r.json?["rejected"] as? Int == 3)
        let errors = (r.json?["errors"] as? [[String: Any]] ?? []).map { "\($0["line"] as? Int ?? 0):\($0["field"] as? String ?? "")" }
        #expect(errors == ["2:_row", "3:_row", "4:colour"])
        let csv = "project,milestone,period_start,period_end,value,unit\nrpet-recycling,rpet-tonnes,2026-05-01\n"
            + "rpet-recycling,rpet-tonnes,2026-05-01,2026-05-31,1,t\n" + "a,\"b\"c,d,e,f,g\n" + String(repeating: "y", count: 70_000) + "\n"
        let c = try await upload(p, csv)
        #expect(c.status == 200, "\(c.text.prefix(300))")
        #expect(c.json?["accepted"] as? Int == 1)
        let csvErrors = (c.json?["errors"] as? [[String: Any]] ?? []).map { "\($0["line"] as? Int ?? 0):\($0["field"] as? String ?? ""):\($0["message"] as? String ?? "")" }
        #expect(csvErrors == [
            "2:_row:has 3 fields; the header has 6", "4:_row:a quoted field must end at a comma or the end of the line",
            "5:_row:is longer than 65536 bytes",
        ])
        #expect(try await storedCount(p) == 3)
        try await p.f.stop()
    }

    @Test func aReadScopeTokenIsRefusedBeforeItsBodyIsRead() async throws {
        let p = try await ProjectFixture.start()
        let big = Data(repeating: UInt8(ascii: " "), count: 8 << 20)
        let r = try await CoalitionFixture.call(p.f.server, .POST, "/v1/submissions/bulk", token: p.f.tokens["read_scope"], raw: big,
                                                headers: [("Content-Type", "application/json"), ("Idempotency-Key", "k-1")])
        #expect(r.status == 403)
        let keys = try await withOwnerConnection(database: p.f.db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT count(*) AS n FROM idempotency_keys")[0].decode("n", as: Int.self)
        }
        #expect(keys == 0, "no key was claimed for a request that was not admitted")
        try await p.f.stop()
    }

    @Test func anIdempotentAnswerCommitsWithTheChangeAndKeepsNoSecret() async throws {
        let f = try await CoalitionFixture.start()
        // The path spelled with a trailing slash routes to the same endpoint.
        let created = try await CoalitionFixture.call(f.server, .POST, "/v1/tokens/", token: f.adminToken, json: ["name": "ci"],
                                                      headers: [("Idempotency-Key", "token-1")])
        #expect(created.status == 201, "\(created.text)")
        let secret = try #require(created.json?["token"] as? String)
        let id = try #require(created.json?["id"] as? String)
        let (sameTransaction, stored) = try await withOwnerConnection(database: f.db.name) { (conn: Connection) async throws -> (Bool, String) in
            let row = try await conn.query("""
                SELECT (k.xmin::text = t.xmin::text) AS same, convert_from(k.response_body, 'UTF8') AS body
                FROM idempotency_keys k, api_tokens t WHERE k.key = 'token-1' AND t.id = \(UUID(uuidString: id)!)
                """)[0]
            return (try row.decode("same"), try row.decode("body"))
        }
        #expect(sameTransaction, "the answer was written by the transaction that created the token")
        #expect(!stored.contains(secret.split(separator: "_").last!), "the secret is not stored")
        let replay = try await CoalitionFixture.call(f.server, .POST, "/v1/tokens", token: f.adminToken, json: ["name": "ci"],
                                                     headers: [("Idempotency-Key", "token-1")])
        #expect(replay.status == 201 && replay.header("Idempotent-Replayed") == "true")
        #expect(replay.json?["id"] as? String == id)
        try await f.stop()
    }

    @Test func bulkUploadsReplayByTheirBytesWithoutHoldingThem() async throws {
        let p = try await ProjectFixture.start()
        let file = BulkTests.csv(0..<20)
        let first = try await upload(p, file, headers: [("Idempotency-Key", "bulk-1")])
        #expect(first.json?["accepted"] as? Int == 20)
        let again = try await upload(p, file, headers: [("Idempotency-Key", "bulk-1")])
        #expect(again.header("Idempotent-Replayed") == "true")
        #expect(again.json?["accepted"] as? Int == 20, "the first answer, not 'unchanged'")
        let other = try await upload(p, BulkTests.csv(0..<21), headers: [("Idempotency-Key", "bulk-1")])
        #expect(other.status == 422)
        #expect((other.json?["errors"] as? [[String: Any]])?.first?["field"] as? String == "Idempotency-Key")
        // A dry run changes nothing; its answer is replayed all the same.
        let dry = try await upload(p, BulkTests.csv(100..<105), query: "?dry_run=true", headers: [("Idempotency-Key", "bulk-2")])
        #expect(dry.json?["accepted"] as? Int == 5 && dry.json?["stored"] as? Bool == false)
        #expect(try await upload(p, BulkTests.csv(100..<105), query: "?dry_run=true", headers: [("Idempotency-Key", "bulk-2")])
            .header("Idempotent-Replayed") == "true")
        #expect(try await storedCount(p) == 20)
        try await p.f.stop()
    }

    @Test func theServerRefusesToServeAsARoleThatBypassesRowLevelSecurity() async throws {
        let db = try await TestDatabase.migrated()
        for (url, role, reason) in [(try db.ownerURL, "coalition_owner", "owns"), (try db.superuserURL, "postgres", "superuser")] {
            let (status, _, stderr) = try await run("coalition-server", ["serve", "--host", "127.0.0.1", "--port", "0"], environment: [
                "DATABASE_URL": url, "COALITION_MIGRATIONS_DIR": TestEnvironment.migrationsDirectory.path,
            ])
            #expect(status == 1)
            #expect(stderr.split(separator: "\n").count == 1, "\(stderr)")
            #expect(stderr.contains("refusing to serve as role \"\(role)\"") && stderr.contains(reason), "\(stderr)")
        }
    }

    @Test func aMemberAdminManagesOnlyItsMemberUsersTokens() async throws {
        let f = try await CoalitionFixture.start()
        let partner = try #require(try await f.call(.POST, "/v1/organizations", as: "coalition_admin", json: [
            "slug": "institute", "name": "Institute", "kind": "partner",
        ]).json?["id"] as? String)
        for (email, role) in [("appointed@fixture.test", "auditor"), ("partner-admin@fixture.test", "member_admin")] {
            let r = try await f.call(.POST, "/v1/organizations/\(partner)/users", as: "coalition_admin", json: [
                "email": email, "display_name": email, "role": role, "password": CoalitionFixture.password,
            ])
            #expect(r.status == 201, "\(r.text)")
        }
        let auditor = try await CoalitionFixture.login(f.server, "appointed@fixture.test", CoalitionFixture.password)
        let admin = try await CoalitionFixture.login(f.server, "partner-admin@fixture.test", CoalitionFixture.password)
        let listed = try await CoalitionFixture.call(f.server, .GET, "/v1/organizations/\(partner)/tokens", token: admin)
        let kinds = (listed.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(kinds.count == 1, "only the member admin's own session: \(listed.text)")
        let auditorTokens = try await CoalitionFixture.call(f.server, .GET, "/v1/tokens", token: auditor)
        let auditorToken = try #require((auditorTokens.json?["items"] as? [[String: Any]])?.first?["id"] as? String)
        let revoke = try await CoalitionFixture.call(f.server, .DELETE, "/v1/organizations/\(partner)/tokens/\(auditorToken)", token: admin)
        #expect(revoke.status == 404)
        #expect(try await CoalitionFixture.call(f.server, .GET, "/v1/me", token: auditor).status == 200, "the auditor's session lives")
        try await f.stop()
    }

    @Test func rowLevelSecurityWritesAreAsNarrowAsTheService() async throws {
        let f = try await CoalitionFixture.start()
        // A draft of member B, and a published standard with a draft of its next version.
        let draft = try await CoalitionFixture.call(f.server, .POST, "/v1/standards", token: f.tokens["memberB_admin"], json: [
            "title": "B's draft", "category": "product", "body": "text",
        ])
        let draftID = try #require(draft.json?["id"] as? String)
        let editorA = Caller(
            userID: UUID(uuidString: f.users["editorA"]!)!, organizationID: UUID(uuidString: f.memberA)!, role: .memberEditor,
            scopes: [.read, .write], tokenID: UUID())
        let own = try await f.call(.POST, "/v1/standards", as: "member_editor", json: ["title": "A's draft", "category": "product", "body": "text"])
        let ownID = try #require(own.json?["id"] as? String)
        let spare = try await f.call(.POST, "/v1/tokens", as: "member_editor", json: ["name": "spare"])
        #expect(try await f.call(.DELETE, "/v1/tokens/\(try #require(spare.json?["id"] as? String))", as: "member_editor").status == 200)
        try await TestDatabase.using(try f.db.appPool(size: 1)) { (pool: ConnectionPool) async throws in
            let store = Store(pool: pool)
            func refused(_ what: String, _ sql: SQL) async {
                await #expect(throws: PQError.self, "\(what)") {
                    try await store.transaction(as: editorA) { tx in
                        let result = try await tx.query(sql)
                        if result.affectedRows == 0 { throw PQError(.server, message: "no row was changed", sqlState: "42501") }
                    }
                }
            }
            await refused("an issuer added to another organization's draft",
                          "INSERT INTO standard_issuers (standard_id, organization_id) VALUES (\(UUID(uuidString: draftID)!), \(editorA.organizationID))")
            await refused("an issuing editor publishing its own version",
                          "UPDATE standard_versions SET status = 'published' WHERE standard_id = \(UUID(uuidString: ownID)!)")
            await refused("an issuing editor publishing its standard",
                          "UPDATE standards SET published_version = 1, status = 'published' WHERE id = \(UUID(uuidString: ownID)!)")
            await refused("an adoption of a version that is not published", """
                INSERT INTO adoptions (standard_id, version_number, organization_id, adopted_on, created_by)
                VALUES (\(UUID(uuidString: ownID)!), 1, \(editorA.organizationID), current_date, \(editorA.userID))
                """)
            await refused("a revoked token taken back", "UPDATE api_tokens SET revoked_at = NULL WHERE user_id = \(editorA.userID) AND revoked_at IS NOT NULL")
            await refused("a session re-scoped", "UPDATE api_tokens SET scopes = ARRAY['read'] WHERE user_id = \(editorA.userID) AND kind = 'session'")
        }
        try await f.stop()
    }

    /// Found by schemathesis: text fields checked for length only passed U+0000 to PostgreSQL,
    /// which refuses it (500).
    @Test func aNULCharacterInAnyTextFieldIs422NotA500() async throws {
        let p = try await ProjectFixture.start()
        let f = p.f
        let login = try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "a\u{0}b@x.example", "password": "whatever-long-pw"])
        #expect(login.status == 422)
        let cases: [(String, String, String?, [String: any Sendable], String)] = [
            ("PATCH", "/v1/projects/\(p.project)", "coalition_admin", ["description": "d\u{0}"], "description"),
            ("POST", "/v1/standards", "coalition_admin", ["title": "T", "category": "product", "body": "b\u{0}", "issuers": [f.memberA]], "body"),
            ("POST", "/v1/milestones/\(p.tonnes)/submissions", "member_editor",
             ["period_start": "2026-01-01", "period_end": "2026-01-31", "value": "1", "unit": "t", "notes": "n\u{0}"], "notes"),
        ]
        for (method, path, caller, body, field) in cases {
            let r = try await f.call(method == "PATCH" ? .PATCH : .POST, path, as: caller, json: body)
            #expect(r.status == 422, "\(method) \(path): \(r.text.prefix(200))")
            #expect((r.json?["errors"] as? [[String: Any]])?.contains { $0["field"] as? String == field } == true, "\(r.text.prefix(200))")
        }
        let created = try await p.submit(p.tonnes, report("2026-02-01", "2026-02-28", "1"))
        let id = try #require(created.json?["id"] as? String)
        let review = try await f.call(.POST, "/v1/submissions/\(id)/review", as: "coalition_admin", json: ["decision": "reject", "comment": "no\u{0}"])
        #expect(review.status == 422)
        try await f.stop()
    }

    @Test func theLastActiveAdminCannotBeDemotedNorTheSecretariatSuspended() async throws {
        let f = try await CoalitionFixture.start()
        let me = try #require(try await f.call(.GET, "/v1/me", as: "coalition_admin").json?["user"] as? [String: Any])["id"] as? String
        let demote = try await f.call(.PATCH, "/v1/users/\(me ?? "")", as: "coalition_admin", json: ["role": "auditor"])
        #expect(demote.status == 409, "\(demote.text)")
        #expect(try await f.call(.PATCH, "/v1/users/\(me ?? "")", as: "coalition_admin", json: ["status": "disabled"]).status == 409)
        #expect(try await f.call(.PATCH, "/v1/organizations/\(f.secretariatID)", as: "coalition_admin", json: ["status": "suspended"]).status == 409)
        // With a second admin, the first may step down.
        let second = try await f.call(.POST, "/v1/organizations/\(f.secretariatID)/users", as: "coalition_admin", json: [
            "email": "second@fixture.test", "display_name": "Second", "role": "coalition_admin", "password": CoalitionFixture.password,
        ])
        #expect(second.status == 201)
        #expect(try await f.call(.PATCH, "/v1/users/\(me ?? "")", as: "coalition_admin", json: ["role": "auditor"]).status == 200)
        try await f.stop()
    }

    /// scripts/fault-db saw 620 identical error lines a second while PostgreSQL was away.
    /// A database shutting down mid-request (fault-db met 57P01 after a COMMIT had gone through)
    /// is the outage, answered 503, not an unexpected 500.
    @Test func aDatabaseGoingAwayMidRequestIsAnOutage() {
        #expect(PQError(.server, message: "terminating connection due to administrator command", sqlState: "57P01").isDatabaseGoingAway)
        #expect(PQError(.server, message: "the database system is shutting down", sqlState: "57P03").isDatabaseGoingAway)
        #expect(PQError(.server, message: "connection failure", sqlState: "08006").isDatabaseGoingAway)
        #expect(!PQError(.server, message: "duplicate key", sqlState: "23505").isDatabaseGoingAway)
        #expect(!PQError(.server, message: "no state", sqlState: nil).isDatabaseGoingAway)
    }

    @Test func anOutageIsLoggedAboutOnceASecondNotOncePerRequest() {
        let log = RateLimitedLog(interval: .seconds(1))
        let start = ContinuousClock.now
        #expect(log.admit(now: start) == 0)
        #expect(log.admit(now: start + .milliseconds(300)) == nil)
        #expect(log.admit(now: start + .milliseconds(900)) == nil)
        #expect(log.admit(now: start + .milliseconds(1100)) == 2, "the next line says how many it stands for")
        #expect(PQError(.connection, message: "could not connect\n\tIs the server running?").description == "could not connect Is the server running?")
    }

    @Test func silentConnectionsAreClosedAndOneAddressCannotHoldThemAll() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db, environment: [
            "COALITION_HEADER_TIMEOUT_SECONDS": "1", "COALITION_IDLE_TIMEOUT_SECONDS": "30", "COALITION_MAX_CONNECTIONS_PER_ADDRESS": "2",
        ])
        let port = RawConnection.port(of: server.baseURL)
        let silent = try RawConnection(port: port, from: "127.0.0.5")
        let started = ContinuousClock.now
        #expect(silent.receive(timeout: .seconds(8), untilClosed: true).closed, "a connection that never sends a head is closed")
        #expect(ContinuousClock.now - started < .seconds(5))

        let held = [try RawConnection(port: port, from: "127.0.0.6"), try RawConnection(port: port, from: "127.0.0.6")]
        for c in held {
            try c.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(RawConnection.status(c.receive(timeout: .seconds(5)).text) == 200)
        }
        let third = try RawConnection(port: port, from: "127.0.0.6")
        #expect(third.receive(timeout: .seconds(5), untilClosed: true).closed, "a third connection from the same address is closed")
        let other = try RawConnection(port: port, from: "127.0.0.7")
        try other.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(RawConnection.status(other.receive(timeout: .seconds(5)).text) == 200, "another address is served")
        #expect(try await server.stop() == 0)
    }

    @Test func aClaimTakenOverByARetryCanNeitherAnswerNorReleaseIt() async throws {
        let f = try await CoalitionFixture.start()
        let admin = try #require(try await f.call(.GET, "/v1/me", as: "coalition_admin").json?["user"] as? [String: Any])
        let caller = Caller(
            userID: UUID(uuidString: try #require(admin["id"] as? String))!, organizationID: UUID(uuidString: f.secretariatID)!,
            role: .coalitionAdmin, scopes: [.read, .write], tokenID: UUID())
        try await TestDatabase.using(try f.db.appPool(size: 1)) { (pool: ConnectionPool) async throws in
            let store = Store(pool: pool)
            guard case .claimed(let first) = try await store.claimIdempotencyKey("slow", fingerprint: [1], caller: caller) else {
                Issue.record("the first claim was not granted")
                return
            }
            #expect(try await store.claimIdempotencyKey("slow", fingerprint: [1], caller: caller) == .running)
            try await withSuperuserConnection(database: f.db.name) { (conn: Connection) async throws in
                _ = try await conn.query("UPDATE idempotency_keys SET created_at = now() - interval '16 minutes' WHERE key = 'slow'")
            }
            guard case .claimed(let second) = try await store.claimIdempotencyKey("slow", fingerprint: [1], caller: caller) else {
                Issue.record("a claim older than any request was not taken over")
                return
            }
            #expect(first != second)
            let late = try await store.transaction(as: caller) {
                try await $0.recordIdempotentAnswer("slow", claim: first, fingerprint: [1], status: 201, headers: [:], body: [])
            }
            #expect(!late, "the first request may not answer for the retry")
            try await store.releaseIdempotencyKey("slow", claim: first, caller: caller)
            #expect(try await store.claimIdempotencyKey("slow", fingerprint: [1], caller: caller) == .running, "nor give its claim away")
        }
        try await f.stop()
    }

    @Test func rowErrorsDoNotEchoAHostileFileBack() async throws {
        let p = try await ProjectFixture.start()
        let key = String(repeating: "k", count: 10_000)
        let nd = "{\"\(key)\":1}\n{\"project\":\"\(String(repeating: "p", count: 10_000))\",\"milestone\":\"m\"}\n"
        let r = try await upload(p, nd, contentType: "application/x-ndjson")
        let errors = r.json?["errors"] as? [[String: Any]] ?? []
        #expect(errors.count >= 2)
        #expect(errors.allSatisfy { ($0["message"] as? String ?? "").count < 400 && ($0["field"] as? String ?? "").count < 200 }, "\(r.text.prefix(500))")
        #expect(errors.first?["field"] as? String == "_row")
        let csv = "project,milestone,period_start,period_end,value,unit\nrpet-recycling,\"open\n" + String(repeating: "z,\n", count: 40_000)
        let c = try await upload(p, csv)
        let message = (c.json?["errors"] as? [[String: Any]])?.first?["message"] as? String ?? ""
        #expect(message.contains("never closed"), "\(c.text.prefix(300))")
        // A JSON body sent to the bulk route with a key is not read whole first: the route refuses it.
        let json = try await upload(p, String(repeating: " ", count: 4 << 20), contentType: "application/json", headers: [("Idempotency-Key", "j")])
        #expect(json.status == 415)
        try await p.f.stop()
    }

    @Test func aStandardNamesAtMostTenIssuersAndADisabledUsersRightPasswordIsAuditedAsAFailure() async throws {
        let f = try await CoalitionFixture.start()
        let many = (0..<11).map { _ in UUID().uuidString.lowercased() }
        let r = try await f.call(.POST, "/v1/standards", as: "coalition_admin", json: ["title": "T", "category": "product", "body": "b", "issuers": many])
        #expect(r.status == 422)
        #expect((r.json?["errors"] as? [[String: Any]])?.contains { ($0["message"] as? String)?.contains("at most 10") == true } == true, "\(r.text)")
        let before = try await f.auditCount()
        let disabled = try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "disabledA@fixture.test", "password": CoalitionFixture.password])
        #expect(disabled.status == 401)
        try await withSuperuserConnection(database: f.db.name) { (conn: Connection) async throws in
            let failures = try await conn.query("SELECT count(*) AS n FROM audit_log WHERE action = 'auth.login_failed' AND data->>'email' = 'disableda@fixture.test'")[0]
                .decode("n", as: Int.self)
            #expect(failures == 1)
        }
        #expect(try await f.auditCount() == before + 1)
        try await f.stop()
    }
}
