import CoalitionDomain
import Foundation
import NIOHTTP1
import PQ
import Testing

func upload(
    _ p: ProjectFixture, _ body: String, contentType: String = "text/csv", query: String = "", as caller: String = "member_editor",
    headers: [(String, String)] = []
) async throws -> HTTPResult {
    try await CoalitionFixture.call(p.f.server, .POST, "/v1/submissions/bulk" + query, token: p.f.tokens[caller], raw: Data(body.utf8),
                                    headers: [("Content-Type", contentType)] + headers)
}

func storedCount(_ p: ProjectFixture) async throws -> Int {
    try await withSuperuserConnection(database: p.f.db.name) { (conn: Connection) async throws in
        try await conn.query("SELECT count(*) AS n FROM submissions")[0].decode("n", as: Int.self)
    }
}

@Suite("Bulk upload")
struct BulkTests {
    static func csv(_ rows: Range<Int>) -> String {
        var text = "project,milestone,period_start,period_end,value,unit\n"
        for i in rows {
            let day = PQDate(daysSinceEpoch: PQDate(iso: "1990-01-01")!.daysSinceEpoch + i)
            text += "rpet-recycling,rpet-tonnes,\(day),\(day),\(i % 97).5,t\n"
        }
        return text
    }

    @Test func tenThousandRowsStoreOnceAndRepeatAsUnchanged() async throws {
        let p = try await ProjectFixture.start()
        let file = Self.csv(0..<10_000)
        let first = try await upload(p, file)
        #expect(first.status == 200, "\(first.text.prefix(300))")
        #expect(first.json?["accepted"] as? Int == 10_000)
        #expect(first.json?["rejected"] as? Int == 0)
        let again = try await upload(p, file)
        #expect(again.json?["accepted"] as? Int == 0, "\(again.status) \(again.text.prefix(300))")
        #expect(again.json?["unchanged"] as? Int == 10_000)
        #expect(try await storedCount(p) == 10_000)
        let audit = try await withOwnerConnection(database: p.f.db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT count(*) AS n FROM audit_log WHERE action = 'submission.bulk'")[0].decode("n", as: Int.self)
        }
        #expect(audit == 1, "one audit entry per stored batch")
        try await p.f.stop()
    }

    @Test func brokenRowsAreReportedByLineAndFieldAndValidRowsStored() async throws {
        let p = try await ProjectFixture.start()
        let future = PQDate(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400) + 5)
        let file = """
            project,milestone,organization,period_start,period_end,value,unit,notes
            rpet-recycling,rpet-tonnes,,2026-01-01,2026-01-31,1.5,t,ok
            nope,rpet-tonnes,,2026-01-01,2026-01-31,1,t,unknown project
            rpet-recycling,nope,,2026-01-01,2026-01-31,1,t,unknown milestone
            rpet-recycling,rpet-tonnes,member-b,2026-02-01,2026-02-28,1,t,another organization
            rpet-recycling,rpet-tonnes,,2026-03-01,\(future),1,t,future
            rpet-recycling,rpet-tonnes,,2026-04-30,2026-04-01,1,t,inverted
            rpet-recycling,rpet-tonnes,,2026-05-01,2026-05-31,-1,t,negative
            rpet-recycling,rpet-tonnes,,2026-06-01,2026-06-30,1,kWh,wrong family
            rpet-recycling,rpet-tonnes,,2026-07-01,2026-07-31,NaN,t,nan
            rpet-recycling,rpet-tonnes,,2026-08-01,2026-08-31,1234567890123456789012345,t,digits
            rpet-recycling,rpet-tonnes,,2026-13-01,2026-09-30,1,t,bad date
            rpet-recycling,rpet-tonnes,,2026-10-01,2026-10-31,,t,missing value
            rpet-recycling,rpet-tonnes,,2026-01-01,2026-01-31,2,t,same key as line 2 with another value
            "rpet-recycling","rpet-tonnes",,2026-11-01,2026-11-02,"2.5",t,"quoted, with ""quotes""
            and a newline"
            rpet-recycling,rpet-tonnes,,2026-11-03,2026-11-04,3,kg,ok in kg
            """
        let r = try await upload(p, file)
        #expect(r.status == 200, "\(r.text)")
        let errors = r.json?["errors"] as? [[String: Any]] ?? []
        let got = Set(errors.map { "\($0["line"] as? Int ?? 0):\($0["field"] as? String ?? "")" })
        let expected: Set<String> = ["3:project", "4:milestone", "5:organization", "6:period_end", "7:period_end", "8:value", "9:unit",
                                     "10:value", "11:value", "12:period_start", "13:value", "14:value"]
        #expect(got == expected, "\(got.symmetricDifference(expected).sorted())")
        #expect(r.json?["accepted"] as? Int == 3)
        #expect(r.json?["rejected"] as? Int == 12)
        let notes = try await withSuperuserConnection(database: p.f.db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT notes FROM submissions WHERE period_start = '2026-11-01'")[0].decode("notes", as: String.self)
        }
        #expect(notes == "quoted, with \"quotes\"\nand a newline")
        try await p.f.stop()
    }

    @Test func atomicStoresNothingUnlessAllValidAndDryRunStoresNothing() async throws {
        let p = try await ProjectFixture.start()
        let bad = Self.csv(0..<5) + "rpet-recycling,rpet-tonnes,2026-01-01,2026-01-31,-3,t\n"
        let atomic = try await upload(p, bad, query: "?atomic=true")
        #expect(atomic.json?["stored"] as? Bool == false)
        #expect(atomic.json?["accepted"] as? Int == 0)
        #expect((atomic.json?["errors"] as? [[String: Any]])?.first?["line"] as? Int == 7)
        #expect(try await storedCount(p) == 0)
        let dry = try await upload(p, Self.csv(0..<5), query: "?dry_run=true")
        #expect(dry.json?["accepted"] as? Int == 5)
        #expect(dry.json?["stored"] as? Bool == false)
        #expect(try await storedCount(p) == 0)
        let good = try await upload(p, Self.csv(0..<5), query: "?atomic=true")
        #expect(good.json?["accepted"] as? Int == 5)
        #expect(try await storedCount(p) == 5)
        try await p.f.stop()
    }

    @Test func csvVariantsAndNDJSON() async throws {
        let p = try await ProjectFixture.start()
        // BOM, CRLF, columns in another order.
        let crlf = "\u{FEFF}unit,value,period_end,period_start,milestone,project\r\nt,1,2026-01-31,2026-01-01,rpet-tonnes,rpet-recycling\r\n"
        #expect(try await upload(p, crlf).json?["accepted"] as? Int == 1)
        let unknown = try await upload(p, "project,milestone,period_start,period_end,value,unit,colour\n")
        #expect(unknown.status == 422)
        #expect((unknown.json?["errors"] as? [[String: Any]])?.first?["field"] as? String == "colour")
        let missing = try await upload(p, "project,milestone,period_start,value,unit\n")
        #expect(missing.status == 422)
        // A row that cannot be read is a rejected row, not a refused file (issue 10).
        let unclosed = try await upload(p, "project,milestone,period_start,period_end,value,unit\n\"rpet-recycling,x\n")
        #expect(unclosed.status == 200)
        #expect((unclosed.json?["errors"] as? [[String: Any]])?.first?["field"] as? String == "_row")
        #expect(try await upload(p, "project,milestone,period_start,period_end,value,unit\nrpet-recycling,\u{0}\n").status == 400, "a body that is not text")
        let nd = """
            {"project":"rpet-recycling","milestone":"rpet-tonnes","period_start":"2026-02-01","period_end":"2026-02-28","value":2.25,"unit":"t"}

            {"project":"rpet-recycling","milestone":"rpet-tonnes","period_start":"2026-03-01","period_end":"2026-03-31","value":"x","unit":"t"}
            """
        let r = try await upload(p, nd, contentType: "application/x-ndjson")
        #expect(r.json?["accepted"] as? Int == 1)
        #expect((r.json?["errors"] as? [[String: Any]])?.first?["line"] as? Int == 3)
        #expect(try await upload(p, "x", contentType: "application/json").status == 415)
        #expect(try await upload(p, Self.csv(0..<1), as: "member_viewer").status == 403)
        #expect(try await upload(p, Self.csv(0..<1), as: "memberB_admin").json?["rejected"] as? Int == 1, "B takes part in nothing")
        try await p.f.stop()
    }

    @Test func textReachesTheTableExactlyThroughCopyAndNullStaysNull() async throws {
        // The staged rows are CSV that COPY reads: what needs quoting is quoted, the rest is
        // bare, an empty string is not NULL and a missing field is. Sent as NDJSON, which can
        // say "" (a CSV upload's empty field means "not given").
        let p = try await ProjectFixture.start()
        let notes: [String?] = ["", " lead and trail ", "\\.", "a\"b", "x\r\ny", "a,b", "\\N", "二氧化碳 — CO₂e", nil]
        var lines: [String] = []
        for (i, note) in notes.enumerated() {
            let day = "2025-01-\(String(format: "%02d", i + 1))"
            var object: [String: Any] = ["project": "rpet-recycling", "milestone": "rpet-tonnes", "period_start": day, "period_end": day, "value": "1", "unit": "t"]
            if let note { object["notes"] = note }
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        }
        // A `\u0000` escape decodes to NUL, which PostgreSQL's text cannot hold: a row error, not a failed batch.
        lines.append(#"{"project":"rpet-recycling","milestone":"rpet-tonnes","period_start":"2025-02-01","period_end":"2025-02-01","value":"1","unit":"t","notes":"a\u0000b"}"#)
        let r = try await upload(p, lines.joined(separator: "\n"), contentType: "application/x-ndjson")
        #expect(r.status == 200, "\(r.text.prefix(300))")
        #expect(r.json?["accepted"] as? Int == notes.count)
        #expect(r.json?["rejected"] as? Int == 1)
        let error = (r.json?["errors"] as? [[String: Any]])?.first
        #expect(error?["line"] as? Int == notes.count + 1 && error?["field"] as? String == "notes")
        #expect((error?["message"] as? String)?.contains("NUL") == true, "\(String(describing: error))")
        let stored = try await withSuperuserConnection(database: p.f.db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT notes FROM submissions ORDER BY period_start").map { try $0.decode("notes", as: String?.self) }
        }
        #expect(stored == notes)
        try await p.f.stop()
    }

    @Test func requestsOverTheLimitsAreRefusedWithTheLimit() async throws {
        let f = try await CoalitionFixture.start(environment: ["COALITION_BULK_MAX_ROWS": "100", "COALITION_BULK_MAX_BYTES": "65536"])
        let rows = try await CoalitionFixture.call(f.server, .POST, "/v1/submissions/bulk", token: f.tokens["member_editor"],
                                                   raw: Data(Self.csv(0..<101).utf8), headers: [("Content-Type", "text/csv")])
        #expect(rows.status == 413)
        #expect((rows.json?["detail"] as? String)?.contains("at most 100") == true)
        let bytes = try await CoalitionFixture.call(f.server, .POST, "/v1/submissions/bulk", token: f.tokens["member_editor"],
                                                    raw: Data(repeating: 65, count: 70_000), headers: [("Content-Type", "text/csv")])
        #expect(bytes.status == 413)
        #expect((bytes.json?["detail"] as? String)?.contains("65536") == true)
        try await f.stop()
    }
}

@Suite("Bulk file parsing (pure)")
struct BulkFileTests {
    /// The entries of a whole file, read as the server reads a stream.
    static func entries(_ text: String, _ format: BulkFormat = .csv) throws(BulkFileError) -> [BulkEntry] {
        var splitter = BulkRecordSplitter(format: format)
        var records: [BulkRecord] = []
        splitter.feed(Array(text.utf8)) { records.append($0) }
        splitter.finish { records.append($0) }
        var reader = BulkRowReader(format: format)
        var entries: [BulkEntry] = []
        for record in records { entries.append(try reader.read(record)) }
        return entries
    }

    @Test func csvHandlesQuotesNewlinesAndLineNumbers() throws {
        let entries = try Self.entries("project,milestone,period_start,period_end,value,unit,notes\na,b,c,d,1,t,\"x, \"\"y\"\"\nz\"\na2,b,c,d,2,t,\n")
        let rows = entries.compactMap { if case .row(let row) = $0 { row } else { nil } }
        #expect(rows.count == 2)
        #expect(rows[0].line == 2)
        #expect(rows[0].fields["notes"] == "x, \"y\"\nz")
        #expect(rows[1].line == 4)
        #expect(rows[1].fields["notes"] == nil)
        #expect(throws: BulkFileError.self) { try Self.entries("project,milestone\n") }
        #expect(try Self.entries("").isEmpty, "an empty file has no header: the route answers 400")
        let short = try Self.entries("project,milestone,period_start,period_end,value,unit\na,b\n")
        #expect(short.last == .unreadable(2, .fieldCount(found: 2, expected: 6)), "a short row is a row error, not the file's")
        #expect(throws: BulkFileError.self) { try Self.entries("project,milestone,period_start,period_end,value,unit\na,\u{0}\n") }
    }
}
