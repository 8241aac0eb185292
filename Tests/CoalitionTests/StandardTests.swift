import Foundation
import NIOHTTP1
import PQ
import Testing

/// Adds `count` more coalition admins to the fixture's secretariat and logs them in.
func extraAdmins(_ f: CoalitionFixture, _ count: Int, prefix: String = "admin") async throws -> [(id: String, token: String)] {
    var result: [(String, String)] = []
    for i in 0..<count {
        let email = "\(prefix)\(i)@secretariat.test"
        let r = try await f.call(.POST, "/v1/organizations/\(f.secretariatID)/users", as: "coalition_admin",
                                 json: ["email": email, "display_name": "Admin \(i)", "role": "coalition_admin", "password": CoalitionFixture.password])
        let id = try #require(r.json?["id"] as? String, "\(r.text)")
        result.append((id, try await CoalitionFixture.login(f.server, email, CoalitionFixture.password)))
    }
    return result
}

func newStandard(_ f: CoalitionFixture, as caller: String = "member_editor", title: String = "Green low-carbon liquid detergents", issuers: [String] = []) async throws -> HTTPResult {
    try await f.call(.POST, "/v1/standards", as: caller, json: [
        "title": title, "category": "product", "issuers": issuers, "body": "# Guideline\n\nConcentrated formulas.", "change_note": "first draft",
    ])
}

@Suite("Shared standards")
struct StandardTests {
    @Test func fullLifecycleWithVisibilityAdoptionAndSupersession() async throws {
        let f = try await CoalitionFixture.start(environment: ["COALITION_APPROVAL_QUORUM": "2"])
        let admins = try await extraAdmins(f, 1)
        let created = try await newStandard(f)
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.json?["id"] as? String)
        #expect(created.json?["status"] as? String == "draft")
        #expect((created.json?["code"] as? String)?.hasPrefix("CLC-STD-") == true)
        #expect(created.json?["issuers"] as? [String] == [f.memberA], "the creator's organization issues it")
        // Drafts are hidden from non-issuers and anonymous callers.
        #expect(try await CoalitionFixture.call(f.server, .GET, "/v1/standards/\(id)", token: f.tokens["memberB_admin"]).status == 404)
        #expect(try await http(.GET, f.server.baseURL + "/v1/standards/\(id)").status == 404)
        #expect(try await f.call(.GET, "/v1/standards/\(id)", as: "auditor").status == 200)
        // Illegal steps name the state and the allowed actions.
        let early = try await f.call(.POST, "/v1/standards/\(id)/publish", as: "coalition_admin")
        #expect(early.status == 409)
        #expect((early.json?["detail"] as? String)?.contains("the standard is draft; allowed actions: new_version, submit") == true, "\(early.text)")
        #expect(try await f.call(.POST, "/v1/standards/\(id)/reviews", as: "coalition_admin", json: ["decision": "approve"]).status == 409)
        // A viewer of the issuer may not edit; an editor revises the draft and submits.
        #expect(try await f.call(.POST, "/v1/standards/\(id)/versions", as: "member_viewer", json: ["body": "x"]).status == 403)
        #expect(try await f.call(.POST, "/v1/standards/\(id)/versions", as: "member_editor", json: ["body": "# Guideline v1b", "change_note": "typo"]).status == 201)
        let submitted = try await f.call(.POST, "/v1/standards/\(id)/submit", as: "member_editor")
        #expect(submitted.json?["status"] as? String == "in_review")
        // Reject needs a comment; a reject returns it to draft with the comment visible.
        #expect(try await f.call(.POST, "/v1/standards/\(id)/reviews", as: "coalition_admin", json: ["decision": "reject"]).status == 422)
        #expect(try await f.call(.POST, "/v1/standards/\(id)/reviews", as: "member_admin", json: ["decision": "approve"]).status == 403)
        let rejected = try await f.call(.POST, "/v1/standards/\(id)/reviews", as: "coalition_admin", json: ["decision": "reject", "comment": "cite the test method"])
        #expect(rejected.json?["status"] as? String == "draft")
        let v1 = (rejected.json?["versions"] as? [[String: Any]])?.first
        #expect(v1?["review_comment"] as? String == "cite the test method")
        // Second round: two approvals reach the quorum of 2.
        _ = try await f.call(.POST, "/v1/standards/\(id)/submit", as: "member_editor")
        let one = try await f.call(.POST, "/v1/standards/\(id)/reviews", as: "coalition_admin", json: ["decision": "approve"])
        #expect(one.json?["status"] as? String == "in_review")
        #expect((one.json?["reviews"] as? [Any])?.count == 1, "only this round's ballots")
        #expect(one.json?["quorum"] as? Int == 2)
        let two = try await CoalitionFixture.call(f.server, .POST, "/v1/standards/\(id)/reviews", token: admins[0].token, json: ["decision": "approve"])
        #expect(two.json?["status"] as? String == "approved")
        #expect(try await f.call(.POST, "/v1/standards/\(id)/publish", as: "member_editor").status == 403)
        let published = try await f.call(.POST, "/v1/standards/\(id)/publish", as: "coalition_admin")
        #expect(published.json?["status"] as? String == "published")
        #expect(published.json?["published_version"] as? Int == 1)
        // Published: everyone reads it, anonymous callers included.
        #expect(try await http(.GET, f.server.baseURL + "/v1/standards/\(id)").status == 200)
        let list = try await http(.GET, f.server.baseURL + "/v1/standards?status=published")
        #expect((list.json?["items"] as? [[String: Any]])?.count == 1)
        // Adoption: members adopt the published version, once.
        #expect(try await CoalitionFixture.call(f.server, .POST, "/v1/standards/\(id)/adoptions", token: f.tokens["memberB_admin"],
                                                json: ["version_number": 2, "adopted_on": "2026-06-01"]).status == 422)
        let adopted = try await CoalitionFixture.call(f.server, .POST, "/v1/standards/\(id)/adoptions", token: f.tokens["memberB_admin"],
                                                      json: ["version_number": 1, "adopted_on": "2026-06-01", "evidence_url": "https://b.example/lca.pdf"])
        #expect(adopted.status == 201, "\(adopted.text)")
        #expect(try await CoalitionFixture.call(f.server, .POST, "/v1/standards/\(id)/adoptions", token: f.tokens["memberB_admin"],
                                                json: ["version_number": 1, "adopted_on": "2026-06-02"]).status == 409)
        #expect(try await f.call(.POST, "/v1/standards/\(id)/adoptions", as: "member_viewer", json: ["version_number": 1, "adopted_on": "2026-06-02"]).status == 403)
        let adoptions = try await f.call(.GET, "/v1/standards/\(id)/adoptions", as: "member_viewer")
        #expect((adoptions.json as Any?) == nil && (try? JSONSerialization.jsonObject(with: adoptions.body) as? [Any])??.count == 1)
        let byOrg = try await CoalitionFixture.call(f.server, .GET, "/v1/organizations/\(f.memberB)/adoptions", token: f.tokens["memberB_admin"])
        #expect((try? JSONSerialization.jsonObject(with: byOrg.body) as? [Any])??.count == 1)
        // A new version is drafted and reviewed while version 1 stays in force.
        let v2 = try await f.call(.POST, "/v1/standards/\(id)/versions", as: "member_editor", json: ["body": "# Guideline v2", "change_note": "refill packs"])
        #expect(v2.json?["status"] as? String == "published")
        #expect(v2.json?["current_version"] as? Int == 2)
        let public2 = try await http(.GET, f.server.baseURL + "/v1/standards/\(id)")
        #expect((public2.json?["versions"] as? [[String: Any]])?.count == 1, "non-issuers do not see the new draft")
        _ = try await f.call(.POST, "/v1/standards/\(id)/submit", as: "member_editor")
        _ = try await f.call(.POST, "/v1/standards/\(id)/reviews", as: "coalition_admin", json: ["decision": "approve"])
        _ = try await CoalitionFixture.call(f.server, .POST, "/v1/standards/\(id)/reviews", token: admins[0].token, json: ["decision": "approve"])
        let republished = try await f.call(.POST, "/v1/standards/\(id)/publish", as: "coalition_admin")
        #expect(republished.json?["published_version"] as? Int == 2)
        let statuses = (republished.json?["versions"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
        #expect(statuses == ["superseded", "published"])
        let withdrawn = try await f.call(.POST, "/v1/standards/\(id)/withdraw", as: "coalition_admin")
        #expect(withdrawn.json?["status"] as? String == "withdrawn")
        #expect(try await f.call(.POST, "/v1/standards/\(id)/withdraw", as: "coalition_admin").status == 409)
        // Every step is in the audit trail.
        let audit = try await f.call(.GET, "/v1/audit?limit=500", as: "auditor")
        let actions = Set((audit.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String })
        for a in ["standard.create", "standard.draft", "standard.submit", "standard.review", "standard.reject", "standard.approve",
                  "standard.publish", "standard.adopt", "standard.withdraw"] {
            #expect(actions.contains(a), "no \(a)")
        }
        let summary = try await http(.GET, f.server.baseURL + "/v1/reports/summary")
        #expect(summary.json?["adoptions"] as? Int == 1)
        try await f.stop()
    }

    @Test func concurrentApprovalsMakeExactlyOneTransitionAcrossTwoServers() async throws {
        let f = try await CoalitionFixture.start(environment: ["COALITION_APPROVAL_QUORUM": "4"])
        let admins = try await extraAdmins(f, 3)
        let second = try await ServerProcess.start(database: f.db, environment: ["COALITION_APPROVAL_QUORUM": "4"])
        let created = try await newStandard(f)
        let id = try #require(created.json?["id"] as? String)
        _ = try await f.call(.POST, "/v1/standards/\(id)/submit", as: "member_editor")
        let tokens = [f.adminToken] + admins.map(\.token)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for (i, token) in tokens.enumerated() {
                let server = i % 2 == 0 ? f.server : second
                group.addTask {
                    try await CoalitionFixture.call(server, .POST, "/v1/standards/\(id)/reviews", token: token, json: ["decision": "approve"]).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses == [201, 201, 201, 201])
        let final = try await f.call(.GET, "/v1/standards/\(id)", as: "coalition_admin")
        #expect(final.json?["status"] as? String == "approved")
        let counts = try await withSuperuserConnection(database: f.db.name) { (conn: Connection) async throws in
            (try await conn.query("SELECT count(*) AS n FROM standard_reviews")[0].decode("n", as: Int.self),
             try await conn.query("SELECT count(*) AS n FROM audit_log WHERE action = 'standard.approve'")[0].decode("n", as: Int.self))
        }
        #expect(counts.0 == 4, "exactly N reviews")
        #expect(counts.1 == 1, "exactly one transition to approved")
        _ = try await second.stop()
        try await f.stop()
    }

    @Test func codesAreAssignedWithoutGapsOrDuplicatesUnderConcurrency() async throws {
        let f = try await CoalitionFixture.start()
        let codes = try await withThrowingTaskGroup(of: String?.self) { group in
            for i in 0..<8 {
                group.addTask { try await newStandard(f, title: "Standard \(i)").json?["code"] as? String }
            }
            return try await group.reduce(into: [String]()) { if let c = $1 { $0.append(c) } }
        }
        #expect(codes.sorted() == (1...8).map { String(format: "CLC-STD-%04d", $0) })
        // A refused creation does not use up a code.
        #expect(try await f.call(.POST, "/v1/standards", as: "member_editor", json: ["title": "", "category": "product", "body": "b"]).status == 422)
        #expect(try await newStandard(f, title: "Ninth").json?["code"] as? String == "CLC-STD-0009")
        try await f.stop()
    }

    @Test func quorumEdgeCases() async throws {
        // Quorum larger than the number of admins: all active admins suffice.
        let f = try await CoalitionFixture.start(environment: ["COALITION_APPROVAL_QUORUM": "5"])
        let admins = try await extraAdmins(f, 2)
        let id = try #require(try await newStandard(f).json?["id"] as? String)
        _ = try await f.call(.POST, "/v1/standards/\(id)/submit", as: "member_editor")
        _ = try await f.call(.POST, "/v1/standards/\(id)/reviews", as: "coalition_admin", json: ["decision": "approve"])
        _ = try await CoalitionFixture.call(f.server, .POST, "/v1/standards/\(id)/reviews", token: admins[0].token, json: ["decision": "approve"])
        // An admin disabled mid-review: quorum falls to the two remaining active admins.
        let disable = try await f.call(.PATCH, "/v1/users/\(admins[1].id)", as: "coalition_admin", json: ["status": "disabled"])
        #expect(disable.status == 200)
        // A second ballot by the same admin replaces the first; it is what triggers the count.
        let again = try await f.call(.POST, "/v1/standards/\(id)/reviews", as: "coalition_admin", json: ["decision": "approve", "comment": "confirmed"])
        #expect(again.json?["status"] as? String == "approved", "\(again.text)")
        let reviews = try await withOwnerConnection(database: f.db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT count(*) AS n FROM audit_log WHERE action = 'standard.review_replace'")[0].decode("n", as: Int.self)
        }
        #expect(reviews == 1)
        try await f.stop()

        // Quorum 1: one approval approves.
        let g = try await CoalitionFixture.start(environment: ["COALITION_APPROVAL_QUORUM": "1"])
        _ = try await extraAdmins(g, 1)
        let sid = try #require(try await newStandard(g).json?["id"] as? String)
        _ = try await g.call(.POST, "/v1/standards/\(sid)/submit", as: "member_editor")
        let single = try await g.call(.POST, "/v1/standards/\(sid)/reviews", as: "coalition_admin", json: ["decision": "approve"])
        #expect(single.json?["status"] as? String == "approved")
        try await g.stop()
    }

    @Test func badInputIsRefusedAndNothingIsWritten() async throws {
        let f = try await CoalitionFixture.start()
        let cases: [([String: any Sendable], String)] = [
            (["title": "", "category": "product", "body": "b"], "title"),
            (["title": String(repeating: "t", count: 201), "category": "product", "body": "b"], "title"),
            (["title": "T", "category": "cosmetics", "body": "b"], "category"),
            (["title": "T", "category": "product", "body": ""], "body"),
            (["title": "T", "category": "product", "body": "b", "issuers": [UUID().uuidString]], "issuers"),
            (["title": "T", "category": "product", "body": "b", "issuers": [f.secretariatID]], "issuers"),
            (["title": "T", "category": "product", "body": "b", "issuers": ["not-an-id"]], "issuers"),
        ]
        for (body, field) in cases {
            let r = try await f.call(.POST, "/v1/standards", as: "coalition_admin", json: body)
            #expect(r.status == 422, "\(body): \(r.text)")
            let fields = (r.json?["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            #expect(fields.contains(field), "\(r.text)")
        }
        let count = try await withOwnerConnection(database: f.db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT count(*) AS n FROM standards")[0].decode("n", as: Int.self)
        }
        #expect(count == 0)
        #expect(try await f.call(.POST, "/v1/standards", as: "member_viewer", json: ["title": "T", "category": "product", "body": "b"]).status == 403)
        #expect(try await http(.POST, f.server.baseURL + "/v1/standards", headers: [("Content-Type", "application/json")], body: Data("{}".utf8)).status == 401)
        // A member names a co-issuer it cannot read (the partner-like member B): allowed.
        let co = try await newStandard(f, issuers: [f.memberB])
        #expect(co.status == 201)
        #expect(Set(co.json?["issuers"] as? [String] ?? []) == [f.memberA, f.memberB])
        try await f.stop()
    }
}

@Suite("Review fixes: security regressions")
struct SecurityRegressionTests {
    @Test func parallelWrongPasswordsCannotOutrunTheThrottle() async throws {
        let f = try await CoalitionFixture.start(environment: ["COALITION_LOGIN_FAILURES_PER_EMAIL": "3", "COALITION_LOGIN_FAILURES_PER_ADDRESS": "1000"])
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "plainA@fixture.test", "password": "wrong-password-x"]).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 401 }.count == 3, "\(statuses.sorted())")
        #expect(statuses.filter { $0 == 429 }.count == 9)
        try await f.stop()
    }

    @Test func aDisabledUserStaysLockedOutWhenEnabledAgain() async throws {
        let f = try await CoalitionFixture.start()
        let viewer = try #require(f.tokens["member_viewer"])
        let id = f.users["viewerA"]!
        #expect(try await f.call(.PATCH, "/v1/users/\(id)", as: "coalition_admin", json: ["status": "disabled"]).status == 200)
        #expect(try await f.call(.PATCH, "/v1/users/\(id)", as: "coalition_admin", json: ["status": "active"]).status == 200)
        #expect(try await CoalitionFixture.call(f.server, .GET, "/v1/me", token: viewer).status == 401, "old sessions were revoked")
        #expect(try await CoalitionFixture.login(f.server, "viewerA@fixture.test", CoalitionFixture.password).hasPrefix("clc_"))
        try await f.stop()
    }

    @Test func tamperingThatBlanksHashesIsStillDetected() async throws {
        let f = try await CoalitionFixture.start()
        #expect(try await f.call(.GET, "/v1/audit/verify", as: "auditor").json?["ok"] as? Bool == true)
        try await withOwnerConnection(database: f.db.name) { (conn: Connection) async throws in
            try await conn.executeScript("""
                ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
                UPDATE audit_log SET data = '{}', hash = NULL WHERE seq = 2;
                ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;
                """)
        }
        let after = try await f.call(.GET, "/v1/audit/verify", as: "auditor")
        #expect(after.json?["ok"] as? Bool == false)
        #expect(after.json?["first_bad_seq"] as? Int == 2)
        try await f.stop()
    }

    @Test func idempotencyNeverStoresATokenSecret() async throws {
        let f = try await CoalitionFixture.start()
        let key = [("Idempotency-Key", "token-1")]
        let first = try await CoalitionFixture.call(f.server, .POST, "/v1/tokens", token: f.tokens["member_editor"], json: ["name": "erp"], headers: key)
        let secret = try #require(first.json?["token"] as? String)
        let replay = try await CoalitionFixture.call(f.server, .POST, "/v1/tokens", token: f.tokens["member_editor"], json: ["name": "erp"], headers: key)
        #expect(replay.header("Idempotent-Replayed") == "true")
        #expect(replay.json?["id"] as? String == first.json?["id"] as? String)
        #expect(!replay.text.contains(secret))
        let stored = try await withOwnerConnection(database: f.db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT convert_from(response_body, 'UTF8') AS b FROM idempotency_keys")[0].decode("b", as: String.self)
        }
        #expect(!stored.contains(String(secret.suffix(43))))
        try await f.stop()
    }

    @Test func partnersDoNotReportProgressAndMembersCannotPromoteThemselves() async throws {
        let f = try await CoalitionFixture.start()
        let partner = try await f.call(.POST, "/v1/organizations", as: "coalition_admin", json: ["slug": "institute", "name": "Institute", "kind": "partner"])
        let partnerID = try #require(partner.json?["id"] as? String)
        _ = try await f.call(.POST, "/v1/organizations/\(partnerID)/users", as: "coalition_admin",
                             json: ["email": "ed@institute.test", "display_name": "Ed", "role": "member_editor", "password": CoalitionFixture.password])
        let token = try await CoalitionFixture.login(f.server, "ed@institute.test", CoalitionFixture.password)
        let project = try await f.call(.POST, "/v1/projects", as: "coalition_admin", json: [
            "code": "p1", "title": "P", "category": "other", "lead_organization_id": f.memberA, "starts_on": "2026-01-01", "ends_on": "2026-12-31",
        ])
        let pid = try #require(project.json?["id"] as? String)
        #expect(try await f.call(.PUT, "/v1/projects/\(pid)/participants/\(partnerID)", as: "coalition_admin").status == 200)
        let m = try await f.call(.POST, "/v1/projects/\(pid)/milestones", as: "coalition_admin",
                                 json: ["key": "m", "title": "M", "metric": "material_recycled", "target_value": "1", "due_on": "2026-12-31"])
        let mid = try #require(m.json?["id"] as? String)
        let r = try await CoalitionFixture.call(f.server, .POST, "/v1/milestones/\(mid)/submissions", token: token,
                                                json: ["period_start": "2026-01-01", "period_end": "2026-01-31", "value": "1", "unit": "t"])
        #expect(r.status == 403, "\(r.text)")
        // A viewer cannot raise itself, even straight in SQL: row-level security keeps its role.
        let pool = try f.db.appPool(size: 1)
        try await TestDatabase.using(pool) { (pool: ConnectionPool) async throws in
            let error = await #expect(throws: PQError.self) {
                try await pool.transaction(setup: "SELECT set_config('coalition.user_id', \(f.users["viewerA"]!), true), set_config('coalition.organization_id', \(f.memberA), true), set_config('coalition.role', 'member_viewer', true)") { conn in
                    try await conn.query("UPDATE users SET role = 'member_admin' WHERE id = \(UUID(uuidString: f.users["viewerA"]!)!)")
                }
            }
            #expect(error?.condition == .insufficientPrivilege)
        }
        let bad = try await f.call(.POST, "/v1/projects/\(pid)/milestones", as: "coalition_admin",
                                   json: ["key": "A_", "title": "M", "metric": "material_recycled", "target_value": "1", "due_on": "2026-12-31"])
        #expect(bad.status == 422)
        try await f.stop()
    }
}
