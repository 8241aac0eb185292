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
        // The upload runs against the first server, which is killed once some batches landed.
        let client = try ChildProcess("coalition", ["submissions", "upload", file.path, "--batch-size", "1000", "--parallel", "1"],
                                      environment: ["COALITION_URL": p.f.server.baseURL, "COALITION_TOKEN": token, "XDG_CONFIG_HOME": dir.path])
        let deadline = ContinuousClock.now + .seconds(120)
        while try await storedCount(p) < 2_000 {
            if ContinuousClock.now > deadline || !client.process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let storedBeforeCrash = try await storedCount(p)
        #expect(storedBeforeCrash > 0 && storedBeforeCrash < rows, "the crash happens mid-upload (\(storedBeforeCrash) stored)")
        p.f.server.child.signal(SIGKILL)
        let clientStatus = try await client.waitForExit(timeout: .seconds(120))
        #expect(clientStatus == 2, "the client gives up after its retries with a connection error: \(client.stderr.text)")
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
