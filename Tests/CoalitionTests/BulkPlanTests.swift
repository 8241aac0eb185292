import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Testing

@Suite("Bulk records (pure)")
struct BulkRecordTests {
    /// The records of `text` fed `chunk` bytes at a time.
    static func records(_ text: String, _ format: BulkFormat, chunk: Int = .max, limit: Int = BulkLimits.recordBytes) -> [BulkRecord] {
        var splitter = BulkRecordSplitter(format: format, maxRecordBytes: limit)
        var records: [BulkRecord] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + min(chunk, bytes.count))
            splitter.feed(Array(bytes[start..<end])) { records.append($0) }
            start = end
        }
        splitter.finish { records.append($0) }
        return records
    }

    static let csv = "\u{FEFF}project,milestone,notes\r\na,b,\"x, \"\"y\"\"\r\nz\"\r\n\r\na2,b,\n\"unclosed,b,c"

    @Test func csvRecordsKeepQuotedLineEndsAndTheirLinesWhateverTheChunks() {
        let whole = Self.records(Self.csv, .csv)
        #expect(whole.map(\.line) == [1, 2, 5, 6])
        #expect(whole.map(\.lineCount) == [1, 2, 1, 1])
        #expect(whole[0].bytes == Array("project,milestone,notes".utf8), "the BOM is skipped, CRLF ends the record")
        #expect(CSVRecord.fields(whole[1].bytes) == .success(["a", "b", "x, \"y\"\r\nz"]))
        #expect(CSVRecord.fields(whole[3].bytes) == .failure(.unclosedQuote), "the file ended inside quotes")
        for chunk in [1, 2, 3, 5, 7, 64] {
            #expect(Self.records(Self.csv, .csv, chunk: chunk) == whole, "chunks of \(chunk) bytes")
        }
    }

    @Test func aRecordOverTheLimitIsMarkedAndItsBytesDropped() {
        let text = "project\n" + String(repeating: "x", count: 100) + "\nshort\n"
        let records = Self.records(text, .csv, chunk: 7, limit: 50)
        #expect(records.count == 3)
        #expect(records[1].oversized && records[1].bytes.isEmpty && records[1].line == 2)
        #expect(!records[2].oversized && records[2].bytes == Array("short".utf8) && records[2].line == 3)
    }

    @Test func eachRecordHoldsItsOwnSizeNotTheLargestBufferSeen() {
        // One long record early on used to set the capacity every later record's bytes were
        // allocated with, so a file of short rows cost ~500 bytes a row in the CLI and grew
        // its memory with the file.
        let text = "project\n" + String(repeating: "x", count: 20_000) + "\n" + String(repeating: "a,b,c\n", count: 100)
        let records = Self.records(text, .csv, chunk: 4096)
        #expect(records.count == 102)
        #expect(records[1].bytes.count == 20_000)
        let short = records.dropFirst(2)
        #expect(short.allSatisfy { $0.bytes == Array("a,b,c".utf8) })
        #expect(short.allSatisfy { $0.bytes.capacity < 64 }, "largest capacity: \(short.map(\.bytes.capacity).max() ?? 0)")
    }

    @Test func stagedRowsAreTheCSVThatCopyReads() throws {
        // Bare fields where nothing needs quoting, quoted ones (quotes doubled) where a comma,
        // a quote or a line end does, an empty string quoted (bare empty is NULL), a missing
        // field empty; the canonical value in the metric's unit.
        let milestone = UUID(uuidString: "00000000-0000-0000-0000-0000000000AA")!
        let project = UUID(uuidString: "00000000-0000-0000-0000-0000000000BB")!
        func staged(_ draft: SubmissionDraft) throws -> String {
            let valid = try SubmissionRules.validate(draft, metricUnit: "t", aggregation: .sum, today: CalendarDate(iso: "2026-01-01")!).get()
            var staging = BulkStaging()
            staging.append(BulkCandidate(line: 7, milestoneID: milestone, projectID: project, submission: valid))
            return String(decoding: staging.chunks.joined(), as: UTF8.self)
        }
        let ids = "\(milestone.uuidString),\(project.uuidString)"
        #expect(try staged(SubmissionDraft(
            periodStart: "2024-01-01", periodEnd: "2024-03-31", value: "1500", unit: "kg", notes: "",
            evidenceURL: "https://example.org/a,b", externalRef: "say \"hi\"\r\nthen")) ==
            "7,\(ids),2024-01-01,2024-03-31,1500,kg,1.5,\"\",\"https://example.org/a,b\",\"say \"\"hi\"\"\r\nthen\"\n")
        #expect(try staged(SubmissionDraft(periodStart: "2024-01-01", periodEnd: "2024-01-31", value: "12.50", unit: "t", notes: "plain")) ==
            "7,\(ids),2024-01-01,2024-01-31,12.5,t,12.5,plain,,\n")
    }

    @Test func ndjsonLinesSkipBlankOnesButCountThem() {
        let records = Self.records("{\"a\":1}\n  \n\t\n{\"b\":\"x\\ny\"}\r\n", .ndjson, chunk: 3)
        #expect(records.map(\.line) == [1, 4])
        #expect(records[1].bytes == Array("{\"b\":\"x\\ny\"}".utf8))
    }

    @Test func malformedCSVRecordsSayWhy() {
        #expect(CSVRecord.fields(Array("a,b\"c".utf8)) == .failure(.quoteInUnquotedField))
        #expect(CSVRecord.fields(Array("\"a\"b,c".utf8)) == .failure(.textAfterQuote))
        #expect(CSVRecord.fields([0x61, 0xFF]) == .failure(.notUTF8))
        #expect(CSVRecord.fields(Array(",,".utf8)) == .success(["", "", ""]))
    }

    @Test func theHeaderNamesKnownColumnsOnce() throws {
        var reader = BulkRowReader(format: .csv)
        let header = BulkRecord(line: 1, lineCount: 1, bytes: Array("unit,value,period_end,period_start,milestone,project".utf8), oversized: false)
        #expect(try reader.read(header) == .header(["unit", "value", "period_end", "period_start", "milestone", "project"]))
        let row = BulkRecord(line: 2, lineCount: 1, bytes: Array("t,1,2026-01-31,2026-01-01,m,p".utf8), oversized: false)
        #expect(try reader.read(row) == .row(BulkRow(line: 2, fields: [
            "unit": "t", "value": "1", "period_end": "2026-01-31", "period_start": "2026-01-01", "milestone": "m", "project": "p",
        ])))
        let short = BulkRecord(line: 3, lineCount: 1, bytes: Array("t,1".utf8), oversized: false)
        #expect(try reader.read(short) == .unreadable(3, .fieldCount(found: 2, expected: 6)))
        for bad in ["project,milestone,colour", "project,project", "project,milestone"] {
            var fresh = BulkRowReader(format: .csv)
            #expect(throws: BulkFileError.self) { try fresh.read(BulkRecord(line: 1, lineCount: 1, bytes: Array(bad.utf8), oversized: false)) }
        }
    }
}

@Suite("Bulk plan (pure)")
struct BulkPlanTests {
    let today = CalendarDate(iso: "2026-06-30")!
    let rpet = BulkProject(id: UUID(), participates: true, milestones: [:])
    let milestone = BulkMilestone(id: UUID(), projectID: UUID(), metricUnit: "t", aggregation: .sum)

    var projects: [String: BulkProject] {
        var own = rpet
        own.milestones["tonnes"] = milestone
        return ["rpet": own, "other": BulkProject(id: UUID(), participates: false, milestones: [:])]
    }

    func row(_ line: Int, _ fields: [String: String]) -> BulkRow {
        BulkRow(line: line, fields: ["project": "rpet", "milestone": "tonnes", "period_start": "2026-01-01", "period_end": "2026-01-31",
                                     "value": "1", "unit": "t"].merging(fields) { $1 })
    }

    /// The plan of `rows` and the candidates it handed out.
    func plan(_ rows: [BulkRow], _ options: BulkOptions = BulkOptions()) -> BulkPlan {
        planned(rows, options).plan
    }

    func planned(_ rows: [BulkRow], _ options: BulkOptions = BulkOptions()) -> (plan: BulkPlan, candidates: [BulkCandidate]) {
        var plan = BulkPlan(organizationSlug: "member-a", today: today, options: options)
        var candidates: [BulkCandidate] = []
        for row in rows {
            if let candidate = plan.judge(row, project: row.fields["project"].flatMap { projects[$0] }) { candidates.append(candidate) }
        }
        return (plan, candidates)
    }

    @Test func everyRowIsJudgedByTheSubmissionRulesAndWhatItNames() {
        let (p, candidates) = planned([
            row(2, [:]),
            row(3, ["project": "nope"]),
            row(4, ["project": "other"]),
            row(5, ["milestone": "nope"]),
            row(6, ["organization": "member-b", "period_start": "2026-02-01", "period_end": "2026-02-28"]),
            row(7, ["value": "-1", "period_start": "2026-03-01", "period_end": "2026-03-31"]),
            row(8, ["value": "1000", "unit": "kg"]),
            row(9, ["value": "2"]),
            row(10, [:]),
        ])
        let got = Set(p.errors.map { "\($0.line):\($0.field)" })
        #expect(got == ["3:project", "4:project", "5:milestone", "6:organization", "7:value", "9:value"])
        #expect(candidates.map(\.line) == [2], "line 8 repeats line 2 in kg, line 10 repeats it exactly")
        #expect(p.candidates == 1)
        #expect(p.repeatedRows == 2)
        #expect(p.rejectedLines == [3, 4, 5, 6, 7, 9])
        #expect(p.storesAnything)
    }

    @Test func unreadableRecordsAreRejectedRowsAndErrorsAreCapped() {
        var p = BulkPlan(organizationSlug: "member-a", today: today, options: BulkOptions(), maxErrors: 2)
        p.reject(line: 5, .fieldCount(found: 1, expected: 6))
        p.reject(line: 6, .unknownKey("colour"))
        p.reject(line: 7, .notJSON("unexpected character"))
        #expect(p.errors.map { "\($0.line):\($0.field)" } == ["5:_row", "6:colour"])
        #expect(p.omittedErrors == 1)
        let (report, keep) = p.settle(nil)
        #expect(keep && report.rejected == 3 && report.errors.count == 2 && report.errorsOmitted == 1)
    }

    @Test func aRowMissingColumnsNamesEachOfThem() {
        let p = plan([BulkRow(line: 2, fields: ["project": "rpet"])])
        #expect(p.errors.map(\.field) == ["milestone", "period_end", "period_start", "unit", "value"])
        #expect(!p.storesAnything)
    }

    @Test func settlingAddsTheStoresConflictsAndKeepsOrDropsTheBatch() {
        let p = plan([row(2, [:]), row(3, ["period_start": "2026-02-01", "period_end": "2026-02-28"]), row(4, ["project": "nope"])])
        let existing = UUID()
        let outcome = BulkStoreOutcome(accepted: [2], unchanged: [], conflicts: [BulkConflict(line: 3, existing: existing)])
        let (report, keep) = p.settle(outcome)
        #expect(keep)
        #expect(report == BulkReport(accepted: 1, unchanged: 0, rejected: 2, errors: [
            .init(line: 3, field: "value", message: "differs from stored submission \(existing.uuidString.lowercased()); withdraw it or ask for its rejection first"),
            .init(line: 4, field: "project", message: "no project with code nope is visible to you"),
        ], stored: true))
    }

    @Test func atomicBatchesStoreNothingUnlessEveryRowIsValidAndDryRunsNothingAtAll() {
        let atomic = plan([row(2, [:]), row(3, ["value": "x"])], BulkOptions(atomic: true))
        #expect(!atomic.storesAnything, "a rejected row: the store is not even asked")
        #expect(atomic.settle(nil) == (BulkReport(accepted: 0, unchanged: 0, rejected: 1, errors: atomic.errors, stored: false), false))
        let conflicting = plan([row(2, [:])], BulkOptions(atomic: true))
        #expect(conflicting.storesAnything)
        let (report, keep) = conflicting.settle(BulkStoreOutcome(conflicts: [BulkConflict(line: 2, existing: UUID())]))
        #expect(!keep && !report.stored && report.accepted == 0 && report.rejected == 1)
        let dry = plan([row(2, [:])], BulkOptions(dryRun: true))
        let (dryReport, dryKeep) = dry.settle(BulkStoreOutcome(accepted: [2]))
        #expect(!dryKeep && !dryReport.stored && dryReport.accepted == 1)
    }
}

@Suite("Vocabulary and text (pure)")
struct VocabularyTests {
    @Test func calendarDatesParseStrictlyAndTravelAsText() throws {
        #expect(CalendarDate(iso: "2023-07-01")?.description == "2023-07-01")
        #expect(CalendarDate(iso: "2023-02-29") == nil)
        #expect(CalendarDate(iso: "2024-02-29") != nil)
        #expect(CalendarDate(iso: "2023-7-1") == nil)
        #expect(CalendarDate(iso: "1970-01-02")?.daysSinceEpoch == 1)
        #expect(CalendarDate(daysSinceEpoch: 19_539).description == "2023-07-01")
        #expect(CalendarDate(daysSinceEpoch: -1).description == "1969-12-31")
        let json = try JSONEncoder().encode(["due_on": CalendarDate(iso: "2026-12-31")!])
        #expect(String(decoding: json, as: UTF8.self) == #"{"due_on":"2026-12-31"}"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([String: CalendarDate].self, from: Data(#"{"d":"2026-13-01"}"#.utf8)) }
    }

    @Test func wireTypesCarryTheVocabularyAndLowercaseIDs() throws {
        let id = UUID()
        let project = Project(
            id: id, code: "rpet", title: "rPET", description: "", category: .materials, status: .active, leadOrganizationID: id,
            participants: [id], startsOn: CalendarDate(iso: "2026-01-01")!, endsOn: CalendarDate(iso: "2026-12-31")!, sdgs: [12],
            createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(project)) as? [String: Any])
        #expect(object["category"] as? String == "materials")
        #expect(object["starts_on"] as? String == "2026-01-01")
        #expect(object["id"] as? String == id.uuidString.lowercased())
        #expect(object["participants"] as? [String] == [id.uuidString.lowercased()])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Metric.self, from: Data(#"{"code":"x","name":"x","unit":"t","aggregation":"median","units":[]}"#.utf8))
        }
    }

    @Test func csvFieldsAreQuotedOnlyWhenTheyMustBe() {
        #expect(CSVText.line(["plain", "a,b", "say \"hi\"", "two\r\nlines", ""]) == "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\",")
        #expect(CSVText.document(header: ["a"], rows: [["1"]]) == "a\r\n1\r\n")
    }
}
