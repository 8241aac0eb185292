import CoalitionDomain
import CoalitionModels
import Foundation
import NIOHTTP1
import PQ
import Testing

@testable import CoalitionStore

/// A project led by member A (A takes part, B does not) with one milestone per aggregation.
struct ProjectFixture {
    let f: CoalitionFixture
    let project: String
    let tonnes: String      // material_recycled, t, sum
    let share: String       // clean_electricity_share, percent, latest

    static func start() async throws -> ProjectFixture {
        let f = try await CoalitionFixture.start()
        let p = try await f.call(.POST, "/v1/projects", as: "coalition_admin", json: [
            "code": "rpet-recycling", "title": "rPET", "description": "d", "category": "materials",
            "lead_organization_id": f.memberA, "starts_on": "2026-01-01", "ends_on": "2027-12-31", "sdgs": [12, 13],
        ])
        let project = try #require(p.json?["id"] as? String, "\(p.text)")
        let m1 = try await f.call(.POST, "/v1/projects/\(project)/milestones", as: "coalition_admin", json: [
            "key": "rpet-tonnes", "title": "Tonnes of rPET", "metric": "material_recycled", "target_value": "100", "due_on": "2027-06-30",
        ])
        let m2 = try await f.call(.POST, "/v1/projects/\(project)/milestones", as: "member_admin", json: [
            "key": "clean-share", "title": "Clean electricity", "metric": "clean_electricity_share", "target_value": 30, "due_on": "2027-06-30",
        ])
        return ProjectFixture(
            f: f, project: project, tonnes: try #require(m1.json?["id"] as? String, "\(m1.text)"), share: try #require(m2.json?["id"] as? String, "\(m2.text)"))
    }

    func submit(_ milestone: String, as caller: String = "member_editor", _ body: [String: any Sendable], headers: [(String, String)] = []) async throws -> HTTPResult {
        try await CoalitionFixture.call(f.server, .POST, "/v1/milestones/\(milestone)/submissions", token: f.tokens[caller], json: body, headers: headers)
    }
}

func report(_ start: String, _ end: String, _ value: any Sendable, _ unit: String = "t") -> [String: any Sendable] {
    ["period_start": start, "period_end": end, "value": value, "unit": unit]
}

@Suite("Projects and submissions")
struct SubmissionTests {
    @Test func lifecycleAndWhoMayDoWhat() async throws {
        let p = try await ProjectFixture.start()
        let f = p.f
        let created = try await p.submit(p.tonnes, report("2026-01-01", "2026-01-31", "12.5"))
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.json?["id"] as? String)
        #expect(created.json?["status"] as? String == "submitted")
        #expect(created.json?["value"] as? String == "12.5")
        // A viewer of the participant may read but not submit; a non-participant sees nothing.
        #expect(try await p.submit(p.tonnes, as: "member_viewer", report("2026-02-01", "2026-02-28", "1")).status == 403)
        #expect(try await p.submit(p.tonnes, as: "memberB_admin", report("2026-02-01", "2026-02-28", "1")).status == 404)
        #expect(try await f.call(.GET, "/v1/submissions/\(id)", as: "member_viewer").status == 200)
        #expect(try await CoalitionFixture.call(f.server, .GET, "/v1/submissions/\(id)", token: f.tokens["memberB_admin"]).status == 404)
        #expect(try await CoalitionFixture.call(f.server, .GET, "/v1/projects/\(p.project)", token: f.tokens["memberB_admin"]).status == 404)
        // Another organization cannot withdraw it: B does not even see it.
        #expect(try await CoalitionFixture.call(f.server, .POST, "/v1/submissions/\(id)/withdraw", token: f.tokens["memberB_admin"]).status == 404)
        // Review: admins only, a reject needs a comment.
        #expect(try await f.call(.POST, "/v1/submissions/\(id)/review", as: "member_admin", json: ["decision": "approve"]).status == 403)
        let noComment = try await f.call(.POST, "/v1/submissions/\(id)/review", as: "coalition_admin", json: ["decision": "reject"])
        #expect(noComment.status == 422)
        #expect((noComment.json?["errors"] as? [[String: Any]])?.first?["field"] as? String == "comment")
        #expect(try await f.call(.POST, "/v1/submissions/\(id)/verify", as: "auditor").status == 409, "not approved yet")
        let approved = try await f.call(.POST, "/v1/submissions/\(id)/review", as: "coalition_admin", json: ["decision": "approve", "comment": "ok"])
        #expect(approved.json?["status"] as? String == "approved")
        let withdraw = try await f.call(.POST, "/v1/submissions/\(id)/withdraw", as: "member_editor")
        #expect(withdraw.status == 409)
        #expect((withdraw.json?["detail"] as? String)?.contains("approved; allowed actions: verify") == true)
        #expect(try await f.call(.POST, "/v1/submissions/\(id)/verify", as: "coalition_admin").status == 403, "only auditors verify")
        let verified = try await f.call(.POST, "/v1/submissions/\(id)/verify", as: "auditor")
        #expect(verified.json?["status"] as? String == "verified")
        #expect(try await f.call(.POST, "/v1/submissions/\(id)/verify", as: "auditor").status == 409)
        // Withdraw by the submitting organization while submitted.
        let second = try await p.submit(p.tonnes, report("2026-02-01", "2026-02-28", "3"))
        let secondID = try #require(second.json?["id"] as? String)
        #expect(try await f.call(.POST, "/v1/submissions/\(secondID)/withdraw", as: "member_viewer").status == 403)
        #expect(try await f.call(.POST, "/v1/submissions/\(secondID)/withdraw", as: "member_admin").json?["status"] as? String == "withdrawn")
        // Withdrawn frees the natural key: the same period can be submitted again.
        #expect(try await p.submit(p.tonnes, report("2026-02-01", "2026-02-28", "4")).status == 201)
        try await f.stop()
    }

    @Test func validationMatrix() async throws {
        let p = try await ProjectFixture.start()
        let future = PQDate(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400) + 2).description
        let cases: [([String: any Sendable], String, String)] = [
            (report("2026-01-01", future, "1"), "period_end", "future"),
            (report("2026-03-01", "2026-02-01", "1"), "period_end", "before"),
            (report("2026-01-01", "2026-01-31", "-1"), "value", "negative"),
            (report("2026-01-01", "2026-01-31", "1", "kWh"), "unit", "not a unit of this metric"),
            (report("2026-01-01", "2026-01-31", "1", "furlong"), "unit", "not a known unit"),
            (report("2026-01-01", "2026-01-31", "NaN"), "value", "finite"),
            (report("2026-01-01", "2026-01-31", "Infinity"), "value", "finite"),
            (report("2026-01-01", "2026-01-31", "1e400"), "value", "out of range"),
            (report("2026-01-01", "2026-01-31", "1234567890123456789012345"), "value", "20 significant digits"),
            (report("2026-01-01", "2026-01-31", "twelve"), "value", "decimal number"),
            (report("2026-01-32", "2026-01-31", "1"), "period_start", "YYYY-MM-DD"),
            (["period_start": "2026-01-01", "period_end": "2026-01-31", "unit": "t"], "value", "required"),
            (report("2026-01-01", "2026-01-31", true), "value", "decimal number"),
        ]
        for (body, field, words) in cases {
            let r = try await p.submit(p.tonnes, body)
            #expect(r.status == 422, "\(body): \(r.text)")
            let errors = r.json?["errors"] as? [[String: Any]] ?? []
            #expect(errors.contains { $0["field"] as? String == field && ($0["message"] as? String)?.contains(words) == true }, "\(field): \(r.text)")
        }
        // A JSON number with an exponent beyond the numeric range is a 422 too, not a parse error.
        let raw = Data(#"{"period_start":"2026-01-01","period_end":"2026-01-31","value":1e400,"unit":"t"}"#.utf8)
        let exp = try await CoalitionFixture.call(p.f.server, .POST, "/v1/milestones/\(p.tonnes)/submissions", token: p.f.tokens["member_editor"], raw: raw)
        #expect(exp.status == 422)
        // Negative values are fine for a metric that is not summed.
        #expect(try await p.submit(p.share, report("2026-01-01", "2026-01-31", "-0.5", "percent")).status == 201)
        // A milestone that does not exist, or of a project the caller is not in: 404.
        #expect(try await p.submit(UUID().uuidString.lowercased(), report("2026-01-01", "2026-01-31", "1")).status == 404)
        #expect(try await p.submit(p.tonnes, as: "memberB_admin", report("2026-01-01", "2026-01-31", "1")).status == 404)
        let count = try await withSuperuserConnection(database: p.f.db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT count(*) AS n FROM submissions")[0].decode("n", as: Int.self)
        }
        #expect(count == 1, "only the valid percent row was stored")
        try await p.f.stop()
    }

    /// Once a milestone's facts are known the submission is stored in one statement, which
    /// checks again who may submit: a viewer, a non-participant and an organization taken off
    /// the project are refused as before, with nothing stored; a refused draft names its field.
    @Test func aKnownMilestoneStillChecksWhoSubmitsAndWhat() async throws {
        let p = try await ProjectFixture.start()
        let f = p.f
        func stored(_ organization: String) async throws -> Int {
            try await withSuperuserConnection(database: f.db.name) { (conn: Connection) async throws in
                try await conn.query("SELECT count(*) AS n FROM submissions WHERE organization_id = \(UUID(uuidString: organization)!)")[0].decode("n", as: Int.self)
            }
        }
        #expect(try await p.submit(p.tonnes, report("2026-01-01", "2026-01-31", "1")).status == 201)  // the facts are known from now on
        #expect(try await p.submit(p.tonnes, report("2026-02-01", "2026-02-28", "2")).status == 201)
        #expect(try await p.submit(p.tonnes, as: "member_viewer", report("2026-03-01", "2026-03-31", "1")).status == 403)
        #expect(try await p.submit(p.tonnes, as: "memberB_admin", report("2026-03-01", "2026-03-31", "1")).status == 404)
        #expect(try await stored(f.memberA) == 2)
        #expect(try await stored(f.memberB) == 0)
        // B joins, submits, is taken off the project: its next submission is refused and not stored.
        #expect(try await f.call(.PUT, "/v1/projects/\(p.project)/participants/\(f.memberB)", as: "coalition_admin").status == 200)
        let joined = try await p.submit(p.tonnes, as: "memberB_admin", report("2026-03-01", "2026-03-31", "1"))
        #expect(joined.status == 201, "\(joined.text)")
        #expect(try await f.call(.DELETE, "/v1/projects/\(p.project)/participants/\(f.memberB)", as: "coalition_admin").status == 200)
        let left = try await p.submit(p.tonnes, as: "memberB_admin", report("2026-04-01", "2026-04-30", "1"))
        #expect(left.status == 404, "\(left.text)")
        #expect(try await stored(f.memberB) == 1)
        // A partner organization taking part in the project is refused (only members report).
        let partner = try await f.call(.POST, "/v1/organizations", as: "coalition_admin", json: ["slug": "partner-p", "name": "Partner P", "kind": "partner", "sector": "test"])
        let partnerID = try #require(partner.json?["id"] as? String, "\(partner.text)")
        let partnerAdmin = try await f.call(.POST, "/v1/organizations/\(partnerID)/users", as: "coalition_admin", json: [
            "email": "adminP@fixture.test", "display_name": "adminP", "role": "member_admin", "password": CoalitionFixture.password,
        ])
        #expect(partnerAdmin.status == 201, "\(partnerAdmin.text)")
        #expect(try await f.call(.PUT, "/v1/projects/\(p.project)/participants/\(partnerID)", as: "coalition_admin").status == 200)
        let partnerToken = try await CoalitionFixture.login(f.server, "adminP@fixture.test", CoalitionFixture.password)
        for month in ["05", "06"] {
            let refused = try await CoalitionFixture.call(f.server, .POST, "/v1/milestones/\(p.tonnes)/submissions", token: partnerToken,
                                                          json: report("2026-\(month)-01", "2026-\(month)-28", "1"))
            #expect(refused.status == 403 && refused.text.contains("only member organizations"), "\(refused.text)")
        }
        #expect(try await stored(partnerID) == 0)
        // The rules still name the field, a repeat is unchanged, a different value conflicts.
        let invalid = try await p.submit(p.tonnes, report("2026-05-01", "2026-05-31", "1", "kWh"))
        #expect(invalid.status == 422)
        #expect((invalid.json?["errors"] as? [[String: Any]])?.first?["field"] as? String == "unit", "\(invalid.text)")
        let repeated = try await p.submit(p.tonnes, report("2026-02-01", "2026-02-28", "2"))
        #expect(repeated.status == 200 && repeated.header("Coalition-Outcome") == "unchanged", "\(repeated.text)")
        #expect(try await p.submit(p.tonnes, report("2026-02-01", "2026-02-28", "3")).status == 409)
        #expect(try await stored(f.memberA) == 2)
        try await f.stop()
    }

    @Test func naturalKeyMakesRepeatsUnchangedAndDifferencesConflicts() async throws {
        let p = try await ProjectFixture.start()
        let first = try await p.submit(p.tonnes, report("2026-03-01", "2026-03-31", "2.5"))
        #expect(first.status == 201)
        let again = try await p.submit(p.tonnes, report("2026-03-01", "2026-03-31", "2.50"))
        #expect(again.status == 200)
        #expect(again.header("Coalition-Outcome") == "unchanged")
        #expect(again.json?["id"] as? String == first.json?["id"] as? String)
        let inKg = try await p.submit(p.tonnes, report("2026-03-01", "2026-03-31", "2500", "kg"))
        #expect(inKg.status == 200, "the same quantity in another unit of the family is the same row")
        let different = try await p.submit(p.tonnes, report("2026-03-01", "2026-03-31", "3"))
        #expect(different.status == 409)
        #expect((different.json?["instance"] as? String)?.hasSuffix(first.json?["id"] as! String) == true)
        #expect(different.header("Content-Type") == "application/problem+json")
        try await p.f.stop()
    }

    @Test func idempotencyKeysReplayRefuseMismatchesAndSerialiseRetries() async throws {
        let p = try await ProjectFixture.start()
        let key = [("Idempotency-Key", "sync-2026-04")]
        let body = report("2026-04-01", "2026-04-30", "7")
        let first = try await p.submit(p.tonnes, body, headers: key)
        #expect(first.status == 201)
        let replay = try await p.submit(p.tonnes, body, headers: key)
        #expect(replay.status == 201)
        #expect(replay.header("Idempotent-Replayed") == "true")
        #expect(replay.body == first.body)
        let mismatch = try await p.submit(p.tonnes, report("2026-04-01", "2026-04-30", "8"), headers: key)
        #expect(mismatch.status == 422)
        #expect((mismatch.json?["errors"] as? [[String: Any]])?.first?["field"] as? String == "Idempotency-Key")
        // Two requests racing with one key: one is stored, both answers agree.
        let race = [("Idempotency-Key", "race-1")]
        let raceBody = report("2026-05-01", "2026-05-31", "9")
        async let a = p.submit(p.tonnes, raceBody, headers: race)
        async let b = p.submit(p.tonnes, raceBody, headers: race)
        let (ra, rb) = try await (a, b)
        let statuses = [ra.status, rb.status].sorted()
        #expect(statuses == [201, 201] || statuses == [201, 409], "\(statuses): \(ra.text) \(rb.text)")
        let ids = Set([ra, rb].filter { $0.status == 201 }.compactMap { $0.json?["id"] as? String })
        #expect(ids.count == 1)
        let stored = try await withSuperuserConnection(database: p.f.db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT count(*) AS n FROM submissions WHERE period_start = '2026-05-01'")[0].decode("n", as: Int.self)
        }
        #expect(stored == 1)
        // Keys belong to their user: another user's same key is a new request.
        let other = try await p.submit(p.tonnes, as: "member_admin", report("2026-06-01", "2026-06-30", "1"), headers: key)
        #expect(other.status == 201)
        // That one took the one-flight way (its organization knows the milestone by now): its
        // answer was recorded in the same transaction and replays.
        let otherReplay = try await p.submit(p.tonnes, as: "member_admin", report("2026-06-01", "2026-06-30", "1"), headers: key)
        #expect(otherReplay.header("Idempotent-Replayed") == "true" && otherReplay.body == other.body, "\(otherReplay.text)")
        #expect(other.header("Idempotent-Replayed") == nil)
        // Expired keys (older than 24 hours) are forgotten.
        try await withOwnerConnection(database: p.f.db.name) { (conn: Connection) async throws in
            _ = try await conn.query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'sync-2026-04'")
        }
        let afterExpiry = try await p.submit(p.tonnes, report("2026-04-01", "2026-04-30", "8"), headers: key)
        #expect(afterExpiry.status == 409, "a new request: the natural key conflicts with the stored 7 t")
        try await p.f.stop()
    }

    @Test func progressConvertsUnitsExactlyAndAggregatesByTheMetricsRule() async throws {
        let p = try await ProjectFixture.start()
        let f = p.f
        var ids: [String] = []
        for (start, end, value, unit) in [("2026-01-01", "2026-01-31", "1500", "kg"), ("2026-02-01", "2026-02-28", "0.25", "t"),
                                          ("2026-03-01", "2026-03-31", "0.001", "kg")] {
            let r = try await p.submit(p.tonnes, report(start, end, value, unit))
            ids.append(try #require(r.json?["id"] as? String))
        }
        for (start, end, value) in [("2026-01-01", "2026-01-31", "20.5"), ("2026-03-01", "2026-03-31", "22.25"), ("2026-02-01", "2026-02-28", "99")] {
            let r = try await p.submit(p.share, report(start, end, value, "percent"))
            ids.append(try #require(r.json?["id"] as? String))
        }
        // Approve all but the February share (99 %) and the 0.001 kg; reject nothing.
        for (i, id) in ids.enumerated() where i != 2 && i != 5 {
            #expect(try await f.call(.POST, "/v1/submissions/\(id)/review", as: "coalition_admin", json: ["decision": "approve"]).status == 200)
        }
        _ = try await f.call(.POST, "/v1/submissions/\(ids[0])/verify", as: "auditor")
        let progress = try await f.call(.GET, "/v1/projects/\(p.project)/progress", as: "member_viewer")
        #expect(progress.status == 200)
        let items = progress.json?["milestones"] as? [[String: Any]] ?? []
        let tonnes = try #require(items.first { $0["key"] as? String == "rpet-tonnes" })
        #expect(tonnes["achieved"] as? String == "1.75", "1500 kg + 0.25 t, exactly")
        #expect(tonnes["unit"] as? String == "t")
        #expect(tonnes["percent"] as? String == "1.75")
        #expect(tonnes["submissions_counted"] as? Int == 2)
        let share = try #require(items.first { $0["key"] as? String == "clean-share" })
        #expect(share["achieved"] as? String == "22.25", "the latest approved period, not a sum")
        #expect(try await CoalitionFixture.call(f.server, .GET, "/v1/projects/\(p.project)/progress", token: f.tokens["memberB_admin"]).status == 404)
        try await f.stop()
    }

    @Test func listsFilterPageAndFeedChanges() async throws {
        let p = try await ProjectFixture.start()
        let f = p.f
        for month in 1...5 {
            let start = String(format: "2026-%02d-01", month)
            let end = String(format: "2026-%02d-28", month)
            #expect(try await p.submit(p.tonnes, report(start, end, "\(month)")).status == 201)
        }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let r = try await f.call(.GET, "/v1/submissions?project=\(p.project)&limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), as: "member_viewer")
            #expect(r.status == 200)
            seen += (r.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            cursor = r.json?["next_cursor"] as? String
        } while cursor != nil
        #expect(seen.count == 5 && Set(seen).count == 5)
        try await Task.sleep(for: .milliseconds(1100))
        let mark = ISO8601DateFormatter().string(from: Date())
        try await Task.sleep(for: .milliseconds(1100))
        _ = try await f.call(.POST, "/v1/submissions/\(seen[0])/review", as: "coalition_admin", json: ["decision": "approve"])
        let feed = try await f.call(.GET, "/v1/submissions?updated_after=\(mark)", as: "member_viewer")
        let changed = (feed.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(changed == [seen[0]])
        let approved = try await f.call(.GET, "/v1/submissions?status=approved&milestone=\(p.tonnes)", as: "auditor")
        #expect((approved.json?["items"] as? [Any])?.count == 1)
        #expect(try await f.call(.GET, "/v1/submissions?status=bogus", as: "auditor").status == 422)
        #expect(try await f.call(.GET, "/v1/submissions?updated_after=yesterday", as: "auditor").status == 422)
        let none = try await CoalitionFixture.call(f.server, .GET, "/v1/submissions", token: f.tokens["memberB_admin"])
        #expect((none.json?["items"] as? [Any])?.isEmpty == true, "B takes part in nothing")
        try await f.stop()
    }

    @Test func rowLevelSecurityHidesProjectsAndSubmissionsOfOthers() async throws {
        let p = try await ProjectFixture.start()
        _ = try await p.submit(p.tonnes, report("2026-01-01", "2026-01-31", "1"))
        let pool = try p.f.db.appPool(size: 1)
        try await TestDatabase.using(pool) { (pool: ConnectionPool) async throws in
            let outsider = Caller(
                userID: UUID(uuidString: p.f.users["viewerB"]!)!, organizationID: UUID(uuidString: p.f.memberB)!,
                role: .memberViewer, scopes: [.read], tokenID: UUID())
            let insider = Caller(
                userID: UUID(uuidString: p.f.users["viewerA"]!)!, organizationID: UUID(uuidString: p.f.memberA)!,
                role: .memberViewer, scopes: [.read], tokenID: UUID())
            let store = Store(pool: pool)
            for (caller, expected) in [(outsider, 0), (insider, 1)] {
                let counts = try await store.transaction(as: caller) { tx in
                    [try await tx.query("SELECT count(*) AS n FROM projects")[0].decode("n", as: Int.self),
                     try await tx.query("SELECT count(*) AS n FROM submissions")[0].decode("n", as: Int.self),
                     try await tx.query("SELECT count(*) AS n FROM milestones")[0].decode("n", as: Int.self) > 0 ? 1 : 0,
                     try await tx.query("SELECT count(*) AS n FROM milestone_totals")[0].decode("n", as: Int.self) >= 0 ? expected : -1]
                }
                #expect(counts == [expected, expected, expected, expected], "\(caller.role) of \(caller.organizationID)")
            }
        }
        try await p.f.stop()
    }

    @Test func summaryIsPublicAndServesCSV() async throws {
        let p = try await ProjectFixture.start()
        let f = p.f
        let r = try await p.submit(p.tonnes, report("2026-01-01", "2026-01-31", "4.5"))
        _ = try await f.call(.POST, "/v1/submissions/\(r.json!["id"] as! String)/review", as: "coalition_admin", json: ["decision": "approve"])
        let summary = try await http(.GET, f.server.baseURL + "/v1/reports/summary?from=2026-01-01&to=2026-12-31")
        #expect(summary.status == 200)
        #expect(summary.json?["members"] as? Int == 2)
        let totals = summary.json?["totals"] as? [[String: Any]] ?? []
        #expect(totals.contains { $0["metric"] as? String == "material_recycled" && $0["total"] as? String == "4.5" && $0["period"] as? String == "2026-01-01" })
        let csv = try await http(.GET, f.server.baseURL + "/v1/reports/summary?by=quarter", headers: [("Accept", "text/csv")])
        #expect(csv.header("Content-Type")?.hasPrefix("text/csv") == true)
        let lines = csv.text.split(separator: "\r\n").map(String.init)
        #expect(lines.first == "metric,unit,aggregation,period,total,submissions,organizations")
        #expect(lines.contains("material_recycled,t,sum,2026-01-01,4.5,1,1"))
        #expect(lines.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 7 })
        #expect(try await http(.GET, f.server.baseURL + "/v1/reports/summary?from=yesterday").status == 422)
        let own = try await f.call(.GET, "/v1/reports/organizations/\(f.memberA)", as: "member_viewer")
        #expect(own.status == 200)
        #expect(try await f.call(.GET, "/v1/reports/organizations/\(f.memberB)", as: "member_viewer").status == 404)
        try await f.stop()
    }

    @Test func seedDemoLoadsOnceAndSaysSoTheSecondTime() async throws {
        let db = try await TestDatabase.migrated()
        let env: [String: String?] = ["COALITION_OWNER_DATABASE_URL": try db.ownerURL, "COALITION_BCRYPT_COST": "4"]
        let (status, out, err) = try await run("coalition-server", ["seed-demo"], environment: env)
        #expect(status == 0, "\(err)")
        #expect(out.contains("demo coalition loaded"))
        #expect(out.contains("editor@clearspring.example"))
        let (again, out2, _) = try await run("coalition-server", ["seed-demo"], environment: env)
        #expect(again == 0)
        #expect(out2.contains("nothing changed"))
        let states = try await withSuperuserConnection(database: db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT DISTINCT status FROM submissions ORDER BY status").map { try $0.decode("status", as: String.self) }
        }
        #expect(states == ["approved", "rejected", "submitted", "verified", "withdrawn"])
        let members = try await withOwnerConnection(database: db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT count(*) AS n FROM organizations WHERE kind = 'member'")[0].decode("n", as: Int.self)
        }
        #expect(members == 20)
        let standards = try await withOwnerConnection(database: db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT status FROM standards ORDER BY code").map { try $0.decode("status", as: String.self) }
        }
        #expect(standards == ["published", "in_review", "draft"])
        let server = try await ServerProcess.start(database: db, environment: ["COALITION_BCRYPT_COST": "4"])
        let login = try await http(.POST, server.baseURL + "/v1/auth/login", headers: [("Content-Type", "application/json")],
                                   body: Data(#"{"email":"editor@clearspring.example","password":"coalition-demo-2026"}"#.utf8))
        #expect(login.status == 200)
        _ = try await server.stop()
    }
}

@Suite("Progress rules (pure)")
struct ProgressRuleTests {
    let start = CalendarDate(iso: "2026-01-01")!
    let due = CalendarDate(iso: "2026-12-31")!

    @Test func forecastStatusesWithFixedDates() {
        let mid = CalendarDate(iso: "2026-07-02")!  // half way
        #expect(MilestoneForecast.status(achieved: 100, target: 100, start: start, due: due, today: mid) == .achieved)
        #expect(MilestoneForecast.status(achieved: 60, target: 100, start: start, due: due, today: mid) == .onTrack)
        #expect(MilestoneForecast.status(achieved: 40, target: 100, start: start, due: due, today: mid) == .behind)
        #expect(MilestoneForecast.status(achieved: 99, target: 100, start: start, due: due, today: CalendarDate(iso: "2027-01-01")!) == .missed)
        #expect(MilestoneForecast.status(achieved: 0, target: 100, start: start, due: due, today: start) == .onTrack)
        #expect(MilestoneForecast.percent(achieved: 1, target: 3) == Decimal(string: "33.33")!)
    }

    @Test func exactDecimalsParseOrSayWhyNot() throws {
        #expect(try ExactDecimal.parse("12.50").get() == Decimal(string: "12.5")!)
        #expect(try ExactDecimal.parse("1.25e3").get() == 1250)
        #expect(try ExactDecimal.parse("-0.000001").get() == Decimal(string: "-0.000001")!)
        #expect(try ExactDecimal.parse("12345678901234567890").get() == Decimal(string: "12345678901234567890")!)
        #expect(ExactDecimal.parse("123456789012345678901") == .failure(.tooManyDigits))
        #expect(ExactDecimal.parse("NaN") == .failure(.notFinite))
        #expect(ExactDecimal.parse("-Infinity") == .failure(.notFinite))
        #expect(ExactDecimal.parse("1e400") == .failure(.outOfRange))
        #expect(ExactDecimal.parse("1.2.3") == .failure(.notANumber))
        #expect(ExactDecimal.parse("") == .failure(.notANumber))
    }

    @Test func unitsConvertExactlyWithinAFamilyOnly() {
        #expect(Units.convert(1500, from: "kg", to: "t") == Decimal(string: "1.5")!)
        #expect(Units.convert(2, from: "MWh", to: "kWh") == 2000)
        #expect(Units.convert(1, from: "Wh", to: "kWh") == Decimal(string: "0.001")!)
        #expect(Units.convert(250, from: "kgCO2e", to: "tCO2e") == Decimal(string: "0.25")!)
        #expect(Units.convert(1, from: "kg", to: "kWh") == nil)
    }

    @Test func jsonParserKeepsNumberTextAndRefusesDuplicates() throws {
        let v = try JSONValue.parse(Array(#"{"a": 0.1, "b": [1e400, "x\u00e9"], "c": null}"#.utf8))
        #expect(v["a"] == .number("0.1"))
        #expect(v["b"] == .array([.number("1e400"), .string("xé")]))
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(Array(#"{"a": 1, "a": 2}"#.utf8)) }
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(Array("{\"a\": 01}".utf8)) }
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(Array("[1,]".utf8)) }
    }
}
