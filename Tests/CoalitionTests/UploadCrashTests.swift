import Foundation
import NIOHTTP1
import PQ
import Testing

@Suite("Upload survives a server crash")
struct UploadCrashTests {
    @Test func aServerKilledMidUploadThenRestartedStoresEveryRowExactlyOnce() async throws {
        let p = try await ProjectFixture.start()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("rows.csv")
        let rows = 12_000  // daily periods from 1990 on, all in the past
        try BulkTests.csv(0..<rows).write(to: file, atomically: true, encoding: .utf8)
        let token = try #require(p.f.tokens["member_editor"])
        // A gate makes the crash land mid-upload however fast or loaded the machine is: the
        // first two batches store, the third waits inside its transaction on an advisory lock
        // this test holds, and the server is killed while it waits.
        let (storedBeforeCrash, clientStatus, clientErrors) = try await withSuperuserConnection(database: p.f.db.name) { (gate: Connection) async throws -> (Int, Int32, String) in
            _ = try await gate.query("""
                CREATE FUNCTION test_crash_gate() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NEW; END $$
                """)
            _ = try await gate.query("""
                CREATE TRIGGER test_crash_gate BEFORE INSERT ON submissions FOR EACH ROW
                WHEN (NEW.period_start >= DATE '1990-01-01' + 2000) EXECUTE FUNCTION test_crash_gate()
                """)
            _ = try await gate.query("SELECT pg_advisory_lock(4242)")
            let client = try ChildProcess("coalition", ["submissions", "upload", file.path, "--batch-size", "1000", "--parallel", "1"],
                                          environment: ["COALITION_URL": p.f.server.baseURL, "COALITION_TOKEN": token, "XDG_CONFIG_HOME": dir.path])
            let deadline = ContinuousClock.now + .seconds(120)
            while ContinuousClock.now < deadline, client.process.isRunning {
                // This gate only: other tests wait on advisory locks of their own (the login throttle).
                let waiting = try await gate.query("""
                    SELECT count(*) AS n FROM pg_locks
                    WHERE locktype = 'advisory' AND NOT granted AND classid = 0 AND objid = 4242 AND objsubid = 1
                      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    """)[0].decode("n", as: Int.self)
                if waiting > 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let stored = try await gate.query("SELECT count(*) AS n FROM submissions")[0].decode("n", as: Int.self)
            p.f.server.child.signal(SIGKILL)
            let status = try await client.waitForExit(timeout: .seconds(120))
            // The waiting transaction may now finish or roll back; the second upload copes with both.
            _ = try await gate.query("SELECT pg_advisory_unlock(4242)")
            _ = try await gate.query("DROP TRIGGER test_crash_gate ON submissions")
            return (stored, status, client.stderr.text)
        }
        #expect(storedBeforeCrash == 2_000, "the crash happens mid-upload, with two batches stored (\(storedBeforeCrash) stored)")
        #expect(clientStatus == 2, "the client gives up after its retries with a connection error: \(clientErrors)")
        // Restart on the same database and run the same upload again.
        let restarted = try await ServerProcess.start(database: p.f.db, environment: ["COALITION_BCRYPT_COST": "4"])
        let (again, out, err) = try await run("coalition", ["submissions", "upload", file.path, "--batch-size", "5000", "--output", "json"],
                                              environment: ["COALITION_URL": restarted.baseURL, "COALITION_TOKEN": token, "XDG_CONFIG_HOME": dir.path])
        #expect(again == 0, "\(err)")
        #expect(out.contains("\"rejected\":0") || out.contains("\"rejected\" : 0"), "\(out.prefix(300))")
        #expect(try await storedCount(p) == rows, "every valid row stored exactly once")
        let verify = try await CoalitionFixture.call(restarted, .GET, "/v1/audit/verify", token: p.f.tokens["auditor"])
        #expect(verify.json?["ok"] as? Bool == true, "\(verify.text)")
        _ = try await restarted.stop()
    }
}
