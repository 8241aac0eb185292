import Foundation
import PQ
import Testing

@Suite("coalition-server end to end (built binary, real PostgreSQL)")
struct ServerTests {
    @Test func liveAndReadyAnswer200AndEchoTheRequestID() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db)
        let live = try await http(.GET, server.baseURL + "/health/live", headers: [("X-Request-ID", "trace-42")])
        #expect(live.status == 200)
        #expect(live.header("X-Request-ID") == "trace-42")
        #expect(live.json?["status"] as? String == "live")
        let ready = try await http(.GET, server.baseURL + "/health/ready")
        #expect(ready.status == 200)
        #expect(ready.json?["status"] as? String == "ready")
        let generated = try #require(ready.header("X-Request-ID"))
        #expect(UUID(uuidString: generated) != nil, "a request id is generated when none is sent")
        let hostile = try await http(.GET, server.baseURL + "/health/live", headers: [("X-Request-ID", String(repeating: "x", count: 500))])
        #expect(hostile.header("X-Request-ID")?.count == 36, "an unusable id is replaced, not echoed")
        #expect(try await server.stop() == 0)
    }

    /// With a shutdown delay, SIGTERM first turns readiness to 503 while requests are still
    /// served, so that a load balancer stops sending before connections close; a second
    /// signal cuts the delay short.
    @Test func aShutdownDelayKeepsServingWhileReadinessSaysShuttingDown() async throws {
        let db = try await TestDatabase.migrated()
        // Long enough for the checks below on a loaded machine.
        let server = try await ServerProcess.start(database: db, environment: ["COALITION_SHUTDOWN_DELAY_SECONDS": "8"])
        #expect(try await http(.GET, server.baseURL + "/health/ready").status == 200)
        let signalled = ContinuousClock.now
        server.child.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        let ready = try await http(.GET, server.baseURL + "/health/ready")
        #expect(ready.status == 503)
        #expect((ready.json?["detail"] as? String)?.hasPrefix("shutting down") == true, "\(ready.text)")
        #expect(try await http(.GET, server.baseURL + "/v1/reports/summary").status == 200, "requests are still served")
        #expect(try await http(.GET, server.baseURL + "/health/live").status == 200)
        #expect(server.child.process.isRunning)
        #expect(try await server.child.waitForExit(timeout: .seconds(40)) == 0)
        #expect(ContinuousClock.now - signalled >= .seconds(8), "the delay runs out on its own")

        let impatient = try await ServerProcess.start(database: db, environment: ["COALITION_SHUTDOWN_DELAY_SECONDS": "120"])
        let first = ContinuousClock.now
        impatient.child.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await http(.GET, impatient.baseURL + "/health/ready").status == 503)
        impatient.child.signal(SIGTERM)
        #expect(try await impatient.child.waitForExit(timeout: .seconds(60)) == 0)
        #expect(ContinuousClock.now - first < .seconds(60), "a second signal ends the delay")
    }

    @Test func errorsAreProblemJSONFor404And405And413() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db, environment: ["COALITION_MAX_BODY_BYTES": "2048"])
        let missing = try await http(.GET, server.baseURL + "/no/such/thing", headers: [("X-Request-ID", "r-404")])
        #expect(missing.status == 404)
        #expect(missing.header("Content-Type") == "application/problem+json")
        #expect(missing.json?["status"] as? Int == 404)
        #expect(missing.json?["title"] as? String == "Not Found")
        #expect(missing.json?["request_id"] as? String == "r-404")

        let wrongMethod = try await http(.DELETE, server.baseURL + "/health/live")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("Allow") == "GET")
        #expect(wrongMethod.header("Content-Type") == "application/problem+json")
        #expect((wrongMethod.json?["detail"] as? String)?.contains("DELETE") == true)

        let big = try await http(.POST, server.baseURL + "/health/live", body: Data(repeating: 65, count: 10_000))
        #expect(big.status == 413)
        #expect(big.header("Content-Type") == "application/problem+json")
        #expect((big.json?["detail"] as? String)?.contains("2048") == true)
        #expect(try await server.stop() == 0)
    }

    @Test func readyIs503WhileTheDatabaseIsUnavailableAndRecoversWithoutRestart() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db)
        #expect(try await http(.GET, server.baseURL + "/health/ready").status == 200)
        try await takeDatabaseAway(db)
        let down = try await http(.GET, server.baseURL + "/health/ready")
        #expect(down.status == 503)
        #expect(down.header("Content-Type") == "application/problem+json")
        #expect((down.json?["detail"] as? String)?.contains("database unreachable") == true)
        #expect(try await http(.GET, server.baseURL + "/health/live").status == 200, "liveness does not depend on the database")
        try await withSuperuserConnection { (conn: Connection) async throws in
            try await conn.executeScript("ALTER DATABASE \(db.name) ALLOW_CONNECTIONS true")
        }
        #expect(try await http(.GET, server.baseURL + "/health/ready").status == 200)
        #expect(try await server.stop() == 0)
    }

    @Test func readyIs503WhenTheSchemaIsBehind() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db)
        try await withOwnerConnection(database: db.name) { (conn: Connection) async throws in
            try await conn.executeScript("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)")
        }
        let behind = try await http(.GET, server.baseURL + "/health/ready")
        #expect(behind.status == 503)
        #expect((behind.json?["detail"] as? String)?.contains("schema not current") == true)
        #expect(try await server.stop() == 0)
    }

    @Test func gracefulShutdownFinishesTheInFlightRequest() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db)
        try await Self.withRequestInFlight(db, server) {
            server.child.signal(SIGTERM)
        }
        #expect(try await server.child.waitForExit() == 0)
    }

    /// A second signal ends the shutdown delay, not the drain: the in-flight request is still
    /// answered.
    @Test func aSecondSignalDuringTheDrainDoesNotCutTheInFlightRequest() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db, environment: ["COALITION_SHUTDOWN_DELAY_SECONDS": "1"])
        try await Self.withRequestInFlight(db, server) {
            server.child.signal(SIGTERM)
            try await Task.sleep(for: .seconds(1.5))
            server.child.signal(SIGTERM)
        }
        #expect(try await server.child.waitForExit() == 0)
    }

    /// Holds a lock that `GET /v1/reports/summary` waits for, runs `signal` once the request
    /// waits on it, checks that the server is still running half a second later, releases the
    /// lock and expects the request answered 200.
    static func withRequestInFlight(_ db: TestDatabase, _ server: ServerProcess, signal: () async throws -> Void) async throws {
        let owner = try db.ownerPool(size: 1)
        try await TestDatabase.using(owner) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { (conn: Connection) async throws in
                try await conn.executeScript("BEGIN; LOCK TABLE contribution_totals IN ACCESS EXCLUSIVE MODE")
                let inFlight = Task { try await http(.GET, server.baseURL + "/v1/reports/summary") }
                // Signal only once the request waits on the lock (a loaded machine may take a while).
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline {
                    let waiting = try await withSuperuserConnection { (c: Connection) async throws in
                        try await c.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = \(db.name) AND wait_event_type = 'Lock'")[0]
                            .decode("n", as: Int.self)
                    }
                    if waiting > 0 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                try await signal()
                try await Task.sleep(for: .milliseconds(500))
                #expect(server.child.process.isRunning, "the server waits for the in-flight request")
                try await conn.executeScript("COMMIT")
                let response = try await inFlight.value
                #expect(response.status == 200, "\(response.text)")
            }
        }
    }

    @Test func metricsExposeRequestCountsLatencyAndPoolGauges() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db)
        _ = try await http(.GET, server.baseURL + "/health/ready")
        _ = try await http(.GET, server.baseURL + "/nope")
        let metrics = try await http(.GET, server.baseURL + "/metrics")
        #expect(metrics.status == 200)
        let text = metrics.text
        #expect(text.contains(#"coalition_http_requests_total{method="GET",route="/health/ready",status="200"} 1"#))
        #expect(text.contains(#"coalition_http_requests_total{method="GET",route="unmatched",status="404"} 1"#))
        #expect(text.contains(#"coalition_http_request_duration_seconds_bucket{method="GET",route="/health/ready",status="200""#))
        #expect(text.contains(#"coalition_db_pool_connections{pool="main",state="idle"}"#))
        #expect(text.contains(#"coalition_db_pool_connections{pool="main",state="in_use"}"#))
        #expect(text.contains(#"coalition_db_pool_connections{pool="main",state="waiting"}"#))
        #expect(try await server.stop() == 0)
    }

    @Test func serveRefusesPendingMigrationsUnlessToldToApplyThem() async throws {
        let db = try await TestDatabase.empty()
        let env: [String: String?] = [
            "DATABASE_URL": try db.appURL, "COALITION_OWNER_DATABASE_URL": try db.ownerURL,
            "COALITION_MIGRATIONS_DIR": TestEnvironment.migrationsDirectory.path,
        ]
        let (status, _, stderr) = try await run("coalition-server", ["serve", "--port", "0"], environment: env)
        #expect(status != 0)
        #expect(stderr.contains("pending"))
        #expect(stderr.contains("migrate"))
        let server = try await ServerProcess.start(database: db, extraArguments: ["--migrate"])
        #expect(try await http(.GET, server.baseURL + "/health/ready").status == 200)
        #expect(try await server.stop() == 0)
        let (statusAfter, out, _) = try await run("coalition-server", ["migrate", "--status"], environment: env)
        #expect(statusAfter == 0)
        #expect(out.contains("applied  0001_foundation"))
    }

    @Test func badDatabaseSettingsGiveOneClearLineAndNonZeroExit() async throws {
        let db = try await TestDatabase.migrated()
        let dir = TestEnvironment.migrationsDirectory.path
        let host = try TestEnvironment.host
        let port = try TestEnvironment.port
        let cases: [(url: String, expect: String, secret: String?)] = [
            ("postgresql://coalition_app:leaky-secret@\(host):\(port)/x?bogus=1", "invalid database connection string", "leaky-secret"),
            ("postgresql://coalition_app:whatever@127.0.0.1:1/\(db.name)", "cannot connect to the database", nil),
            ("postgresql://coalition_app:wrong-secret-77@\(host):\(port)/\(db.name)", "password authentication failed", "wrong-secret-77"),
        ]
        for c in cases {
            let (status, _, stderr) = try await run(
                "coalition-server", ["serve", "--port", "0"],
                environment: ["DATABASE_URL": c.url, "COALITION_MIGRATIONS_DIR": dir])
            #expect(status != 0, "\(c.expect)")
            let lines = stderr.split(separator: "\n").filter { $0.hasPrefix("coalition-server:") }
            #expect(lines.count == 1, "one line for \(c.expect): \(stderr)")
            #expect(stderr.contains(c.expect), "\(stderr)")
            if let secret = c.secret { #expect(!stderr.contains(secret), "the password leaked: \(stderr)") }
            #expect(!stderr.contains("Fatal error"), "no crash dump")
        }
        let (status, _, stderr) = try await run("coalition-server", ["serve"], environment: ["COALITION_PORT": "eighty", "COALITION_MIGRATIONS_DIR": dir])
        #expect(status != 0)
        #expect(stderr.contains("COALITION_PORT"))
    }

    @Test func clientReportsHealthAndVersion() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db)
        let (status, out, _) = try await run("coalition", ["health", "--url", server.baseURL])
        #expect(status == 0)
        #expect(out.contains("ready  ready (schema"))
        let (viaEnv, _, _) = try await run("coalition", ["health"], environment: ["COALITION_URL": server.baseURL])
        #expect(viaEnv == 0)
        #expect(try await server.stop() == 0)

        let (down, _, stderr) = try await run("coalition", ["health", "--url", "http://127.0.0.1:1"])
        #expect(down == 2)
        #expect(stderr.hasPrefix("coalition: cannot reach http://127.0.0.1:1"))
        #expect(stderr.split(separator: "\n").count == 1)

        let (version, versionOut, _) = try await run("coalition", ["--version"])
        #expect(version == 0)
        #expect(versionOut.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
        let (bad, _, _) = try await run("coalition", ["health", "--url", "not a url"])
        #expect(bad == 2)
    }
}
