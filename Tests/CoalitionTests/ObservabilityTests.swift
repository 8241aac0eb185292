import CoalitionDomain
import Foundation
import Logging
import PQ
import Synchronization
import Testing

@testable import CoalitionAPI

@Suite("Observability: JSON logs, request logs, audit sealer metrics")
struct ObservabilityTests {
    @Test func theLogFormatIsASettingWithAClearError() throws {
        #expect(try ServerSettings.fromEnvironment([:]).logFormat == "text")
        #expect(try ServerSettings.fromEnvironment(["COALITION_LOG_FORMAT": " JSON "]).logFormat == "json")
        let bad = #expect(throws: ServerSettings.Invalid.self) { try ServerSettings.fromEnvironment(["COALITION_LOG_FORMAT": "xml"]) }
        #expect(bad?.description == "COALITION_LOG_FORMAT: expected text or json, got \"xml\"")
    }

    @Test func aJSONRecordIsOneParsableLineWithItsMetadata() throws {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "coalition.test") { label in
            JSONLogHandler(label: label, level: .info, sink: .init { line in lines.withLock { $0.append(line) } })
        }
        logger[metadataKey: "request_id"] = "r-1"
        logger.debug("below the level")
        logger.info("quote \" backslash \\ newline \n bell \u{7} done", metadata: ["status": "201", "level": "shadowed", "list": ["a", "b"]])
        let written = lines.withLock { $0 }
        try #require(written.count == 1, "a record below the level is not written")
        let line = written[0]
        #expect(line.hasSuffix("}\n") && line.dropLast().allSatisfy { $0 != "\n" }, "one line per record")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["message"] == "quote \" backslash \\ newline \n bell \u{7} done")
        #expect(object["level"] == "info")
        #expect(object["logger"] == "coalition.test")
        #expect(object["request_id"] == "r-1")
        #expect(object["status"] == "201")
        #expect(object["meta.level"] == "shadowed", "metadata never overwrites a fixed field")
        #expect(object["list"] == "[a, b]")
        let ts = try #require(object["ts"])
        #expect(ts.hasSuffix("Z") && ts.contains("."), "UTC with milliseconds: \(ts)")
    }

    @Test func anAnswerWithinADeadlineDoesNotWaitForALateOperation() async throws {
        let started = ContinuousClock.now
        let late = try await answer(within: .milliseconds(200)) { () async throws -> Int in
            try? await Task.sleep(for: .seconds(10))
            return 1
        }
        #expect(late == nil)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try await answer(within: .seconds(5)) { 42 } == 42)
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await answer(within: .seconds(5)) { () async throws -> Int in throw Refused() } }
    }

    @Test func theServerLogsEachRequestAsJSONAndPublishesTheSealersBacklog() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db, environment: ["COALITION_LOG_FORMAT": "json", "COALITION_LOG_LEVEL": "info"])
        let missing = try await http(.GET, server.baseURL + "/v1/organizations/00000000-0000-0000-0000-000000000000", headers: [("X-Request-ID", "trace-json-1")])
        #expect(missing.status == 401)
        #expect(try await http(.GET, server.baseURL + "/health/live", headers: [("X-Request-ID", "trace-json-2")]).status == 200)

        // While another session holds the sealer's lock, a failed login's audit entry waits
        // unsealed and the gauges show it; once the lock is gone, the next pass seals it.
        func gauge(_ name: String) async throws -> Double {
            let text = try await http(.GET, server.baseURL + "/metrics").text
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(name + " ") }, "\(name) in \(text.prefix(1500))")
            return try #require(Double(line.split(separator: " ").last ?? ""))
        }
        let owner = try db.ownerPool(size: 1)
        try await TestDatabase.using(owner) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { (conn: Connection) async throws in
                try await conn.executeScript("BEGIN; SELECT pg_advisory_xact_lock(7306370560)")
                let failed = try await http(
                    .POST, server.baseURL + "/v1/auth/login", headers: [("Content-Type", "application/json")],
                    body: Data(#"{"email":"nobody@example.org","password":"wrong-password-1"}"#.utf8))
                #expect(failed.status == 401)
                try await Task.sleep(for: .seconds(2.5))
                #expect(try await gauge("coalition_audit_unsealed_entries") >= 1)
                #expect(try await gauge("coalition_audit_seal_lag_seconds") >= 1, "the entry has waited two passes")
                try await conn.executeScript("COMMIT")
            }
        }
        try await Task.sleep(for: .seconds(2))
        #expect(try await gauge("coalition_audit_unsealed_entries") == 0)
        #expect(try await gauge("coalition_audit_seal_lag_seconds") == 0)
        #expect(try await server.stop() == 0)

        let records = server.child.stderr.text.split(separator: "\n").map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: String]
        }
        #expect(!records.isEmpty && records.allSatisfy { $0 != nil }, "every line of standard error is a JSON object:\n\(server.child.stderr.text)")
        let requests = records.compactMap { $0 }.filter { $0["message"] == "request" }
        let refused = try #require(requests.first { $0["request_id"] == "trace-json-1" }, "\(requests)")
        #expect(refused["method"] == "GET")
        #expect(refused["route"] == "/v1/organizations/{id}")
        #expect(refused["path"] == "/v1/organizations/00000000-0000-0000-0000-000000000000")
        #expect(refused["status"] == "401")
        #expect(Double(refused["duration_ms"] ?? "") != nil)
        let live = try #require(requests.first { $0["request_id"] == "trace-json-2" })
        #expect(live["route"] == "/health/live" && live["status"] == "200")
    }
}
