import Foundation
import PQ
import Testing

/// A file in a fresh temporary directory.
private func writeTemporary(_ name: String, _ text: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coalition-upload-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url
}

private func day(_ i: Int) -> String { "\(PQDate(daysSinceEpoch: PQDate(iso: "1990-01-01")!.daysSinceEpoch + i))" }

@Suite("coalition submissions upload")
struct UploadTests {
    static func env(_ p: ProjectFixture, token: String? = nil) -> [String: String?] {
        ["COALITION_URL": p.f.server.baseURL, "COALITION_TOKEN": token ?? p.f.tokens["member_editor"]!]
    }

    @Test func tenThousandRowsInBatchesThenUnchangedDryRunAtomicAndBadToken() async throws {
        let p = try await ProjectFixture.start()
        let home = try temporaryConfigHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let file = try writeTemporary("rows.csv", BulkTests.csv(0..<10_000))

        // A dry run stores nothing but reports as if it had.
        let dry = try await runCLI(["submissions", "upload", file.path, "--batch-size", "2000", "--dry-run", "--output", "json"],
                                   configHome: home, environment: Self.env(p))
        #expect(dry.status == 0, "\(dry.err)")
        let dryJSON = try #require(try JSONSerialization.jsonObject(with: Data(dry.out.utf8)) as? [String: Any], "\(dry.out)")
        #expect(dryJSON["accepted"] as? Int == 10_000)
        #expect(dryJSON["stored"] as? Bool == false)
        #expect(try await storedCount(p) == 0)

        let first = try await runCLI(["submissions", "upload", file.path, "--batch-size", "2000"], configHome: home, environment: Self.env(p))
        #expect(first.status == 0, "\(first.err)")
        #expect(first.out.contains("accepted 10000, unchanged 0, rejected 0"), "\(first.out)")
        // Not a terminal: one plain progress line per batch.
        #expect(lines(first.err).filter { $0.hasPrefix("batch ") }.count == 5, "\(first.err)")
        #expect(try await storedCount(p) == 10_000)

        let again = try await runCLI(["submissions", "upload", file.path, "--batch-size", "2000", "--parallel", "3"],
                                     configHome: home, environment: Self.env(p))
        #expect(again.status == 0, "\(again.err)")
        #expect(again.out.contains("accepted 0, unchanged 10000, rejected 0"), "\(again.out)")
        #expect(try await storedCount(p) == 10_000)

        // --atomic with more rows than one batch: refused before sending anything.
        let atomic = try await runCLI(["submissions", "upload", file.path, "--batch-size", "2000", "--atomic"],
                                      configHome: home, environment: Self.env(p))
        #expect(atomic.status == 2)
        #expect(lines(atomic.err).count == 1 && atomic.err.hasPrefix("coalition: --atomic"), "\(atomic.err)")
        #expect(atomic.out.isEmpty)

        // A wrong token: one line, exit 2.
        let bogus = "clc_bogusbogusbo_" + String(repeating: "x", count: 43)
        let bad = try await runCLI(["submissions", "upload", file.path], configHome: home, environment: Self.env(p, token: bogus))
        #expect(bad.status == 2)
        #expect(lines(bad.err).count == 1 && bad.err.hasPrefix("coalition: "), "\(bad.err)")
        #expect(bad.out.isEmpty)

        // Usage: unknown format, bad batch size.
        let txt = try writeTemporary("rows.txt", "x")
        #expect(try await runCLI(["submissions", "upload", txt.path], configHome: home, environment: Self.env(p)).status == 2)
        #expect(try await runCLI(["submissions", "upload", file.path, "--batch-size", "0"], configHome: home, environment: Self.env(p)).status == 2)
        // The server is down: exit 2 after the retries.
        let down = try await runCLI(["submissions", "upload", file.path, "--url", "http://127.0.0.1:1"], configHome: home)
        #expect(down.status == 2, "\(down.err)")
        try await p.f.stop()
    }

    @Test func brokenRowsAreReportedWithTheirLinesInTheFile() async throws {
        let p = try await ProjectFixture.start()
        let home = try temporaryConfigHome()
        defer { try? FileManager.default.removeItem(at: home) }
        var text = "project,milestone,period_start,period_end,value,unit,notes\n"
        var line = 1
        var expected: [Int: String] = [:]
        for i in 0..<5_000 {
            line += 1
            switch i {
            case 10, 2_500, 4_999:
                text += "rpet-recycling,rpet-tonnes,\(day(i)),\(day(i)),-1,t,negative\n"
                expected[line] = "value"
            case 3_001:
                text += "rpet-recycling,rpet-tonnes,\(day(i)),\(day(i)),1,kWh,wrong family\n"
                expected[line] = "unit"
            case 7, 1_999, 2_000, 4_000:
                // A quoted newline: the record spans two lines of the file.
                text += "rpet-recycling,rpet-tonnes,\(day(i)),\(day(i)),2,t,\"two\nlines, \"\"quoted\"\"\"\n"
                line += 1
            default:
                text += "rpet-recycling,rpet-tonnes,\(day(i)),\(day(i)),\(i % 97).5,t,\n"
            }
        }
        let file = try writeTemporary("broken.csv", text)
        let errorsOut = file.deletingLastPathComponent().appendingPathComponent("errors.csv")
        let r = try await runCLI(["submissions", "upload", file.path, "--batch-size", "1000", "--parallel", "3", "--errors-out", errorsOut.path,
                                  "--output", "json"], configHome: home, environment: Self.env(p))
        #expect(r.status == 1, "\(r.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out)")
        #expect(json["accepted"] as? Int == 4_996)
        #expect(json["rejected"] as? Int == 4)
        let errors = json["errors"] as? [[String: Any]] ?? []
        let got = Dictionary(uniqueKeysWithValues: errors.map { ($0["line"] as? Int ?? 0, $0["field"] as? String ?? "") })
        #expect(got == expected)
        #expect(try await storedCount(p) == 4_996)
        let notes = try await withSuperuserConnection(database: p.f.db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT notes FROM submissions WHERE period_start = \(day(2_000))::date")[0].decode("notes", as: String.self)
        }
        #expect(notes == "two\nlines, \"quoted\"")

        let written = try String(contentsOf: errorsOut, encoding: .utf8)
        let rows = lines(written)
        #expect(rows.first == "project,milestone,period_start,period_end,value,unit,notes,line,field,message")
        #expect(rows.count == 5, "\(written)")
        for (l, field) in expected {
            #expect(rows.contains { $0.contains(",\(l),\(field),") }, "line \(l) \(field) in \(written)")
        }
        #expect(written.contains("rpet-recycling,rpet-tonnes,\(day(3_001)),\(day(3_001)),1,kWh,wrong family,"))

        // A row that cannot be read at all is a rejected row with the file's line; the rest of
        // its batch and of the file is uploaded.
        let malformed = try writeTemporary("malformed.csv", BulkTests.csv(0..<10) + "rpet-recycling,rpet-tonnes\n" + "rpet-recycling,rpet-tonnes,\(day(9_000)),\(day(9_000)),1,t\n")
        let m = try await runCLI(["submissions", "upload", malformed.path, "--batch-size", "4"], configHome: home, environment: Self.env(p))
        #expect(m.status == 1, "\(m.err)")
        #expect(m.out.contains("accepted 1, unchanged 9, rejected 2"), "\(m.out)")
        #expect(m.out.contains("line 9: value differs from stored submission"), "line 9 holds i = 7, stored above with another value")
        #expect(m.out.contains("line 12: _row has 2 fields; the header has 6"), "\(m.out)")
        #expect(try await storedCount(p) == 4_997)
        try await p.f.stop()
    }

    @Test func ndjsonUpload() async throws {
        let p = try await ProjectFixture.start()
        let home = try temporaryConfigHome()
        defer { try? FileManager.default.removeItem(at: home) }
        var text = ""
        for i in 0..<300 {
            let value = i == 150 ? "\"x\"" : "\(i).25"
            text += #"{"project":"rpet-recycling","milestone":"rpet-tonnes","period_start":"\#(day(i))","period_end":"\#(day(i))","value":\#(value),"unit":"t"}"# + "\n"
            if i == 100 { text += "\n" }
        }
        let file = try writeTemporary("rows.jsonl", text)
        let errorsOut = file.deletingLastPathComponent().appendingPathComponent("errors.csv")
        let r = try await runCLI(["submissions", "upload", file.path, "--batch-size", "64", "--errors-out", errorsOut.path],
                                 configHome: home, environment: Self.env(p))
        #expect(r.status == 1, "\(r.err)")
        #expect(r.out.contains("accepted 299, unchanged 0, rejected 1"), "\(r.out)")
        #expect(r.out.contains("line 152: value"), "\(r.out)")
        #expect(try await storedCount(p) == 299)
        let written = try String(contentsOf: errorsOut, encoding: .utf8)
        #expect(lines(written).count == 2)
        #expect(written.contains("rpet-recycling,rpet-tonnes,,\(day(150)),\(day(150)),x,t,,,,152,value,"), "\(written)")

        // The same rows with --format on a file of another name, fixed: the rest is unchanged.
        let fixed = try writeTemporary("rows.data", text.replacingOccurrences(of: "\"value\":\"x\"", with: "\"value\":1"))
        let again = try await runCLI(["submissions", "upload", fixed.path, "--format", "ndjson"], configHome: home, environment: Self.env(p))
        #expect(again.status == 0, "\(again.err)")
        #expect(again.out.contains("accepted 1, unchanged 299, rejected 0"), "\(again.out)")
        try await p.f.stop()
    }

    @Test func aRowTooLongForAnyServerIsRejectedByTheClientWithoutHoldingIt() async throws {
        let p = try await ProjectFixture.start()
        let home = try temporaryConfigHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let long = "rpet-recycling,rpet-tonnes,\(day(5)),\(day(5)),1,t,\"\(String(repeating: "n", count: 70_000))\"\n"
        let file = try writeTemporary("long.csv", "project,milestone,period_start,period_end,value,unit,notes\n"
            + "rpet-recycling,rpet-tonnes,\(day(1)),\(day(1)),1,t,\n" + long + "rpet-recycling,rpet-tonnes,\(day(2)),\(day(2)),1,t,\n")
        let errorsOut = file.deletingLastPathComponent().appendingPathComponent("errors.csv")
        let r = try await runCLI(["submissions", "upload", file.path, "--errors-out", errorsOut.path], configHome: home, environment: Self.env(p))
        #expect(r.status == 1, "\(r.err)")
        #expect(r.out.contains("accepted 2, unchanged 0, rejected 1"), "\(r.out)")
        #expect(r.out.contains("line 3: _row is longer than 65536 bytes"), "\(r.out)")
        #expect(try await storedCount(p) == 2)
        let written = try String(contentsOf: errorsOut, encoding: .utf8)
        #expect(lines(written).last == ",,,,,,,3,_row,is longer than 65536 bytes", "\(written)")
        // All or nothing: a row that cannot be sent refuses the upload before anything is.
        let atomic = try await runCLI(["submissions", "upload", file.path, "--atomic"], configHome: home, environment: Self.env(p))
        #expect(atomic.status == 1)
        #expect(atomic.err.contains("line 3 is longer than 65536 bytes, so nothing was stored"), "\(atomic.err)")
        try await p.f.stop()
    }
}
