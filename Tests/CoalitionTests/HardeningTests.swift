import CoalitionDomain
import CoalitionModels
import Foundation
import NIOHTTP1
import PQ
import Testing

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
        let started = ContinuousClock.now
        let r = try await p.submit(p.tonnes, report("2026-01-01", "2026-01-31", hostile))
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(r.status == 422)
        let errors = r.json?["errors"] as? [[String: Any]] ?? []
        #expect(errors.contains { $0["field"] as? String == "value" && ($0["message"] as? String)?.contains("at most 64 characters") == true }, "\(r.text.prefix(300))")
        let target = try await p.f.call(.PATCH, "/v1/milestones/\(p.tonnes)", as: "coalition_admin", json: ["target_value": hostile])
        #expect(target.status == 422)
        #expect((target.json?["errors"] as? [[String: Any]])?.first?["field"] as? String == "target_value")
        let stored = try await withOwnerConnection(database: p.f.db.name) { (conn: Connection) async throws in
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
        try await withSuperuserConnection { (conn: Connection) async throws in
            try await conn.executeScript("ALTER DATABASE \(db.name) ALLOW_CONNECTIONS false")
            _ = try await conn.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(db.name)")
        }
        // Let the audit sealer meet the outage first.
        #expect(try await http(.GET, server.baseURL + "/health/ready").status == 503)
        try await Task.sleep(for: .seconds(1.5))
        let started = ContinuousClock.now
        server.child.signal(SIGTERM)
        let status = try await server.child.waitForExit(timeout: .seconds(10))
        #expect(status == 0)
        #expect(ContinuousClock.now - started < .seconds(5))
        try await withSuperuserConnection { (conn: Connection) async throws in
            try await conn.executeScript("ALTER DATABASE \(db.name) ALLOW_CONNECTIONS true")
        }
    }

    @Test func aStalledRequestIsAnswered408AndIdleConnectionsAreClosed() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db, environment: [
            "COALITION_REQUEST_READ_TIMEOUT_SECONDS": "2", "COALITION_IDLE_TIMEOUT_SECONDS": "2",
        ])
        let port = RawConnection.port(of: server.baseURL)
        let stalled = try RawConnection(port: port)
        try stalled.send("POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":")
        let started = ContinuousClock.now
        let answer = stalled.receive(timeout: .seconds(8), untilClosed: true)
        #expect(RawConnection.status(answer.text) == 408, "\(answer.text)")
        #expect(answer.text.contains("application/problem+json"))
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
}
