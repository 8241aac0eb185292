import CoalitionDomain
import CoalitionModels
import Foundation
import NIOHTTP1
import PQ
import Testing

@testable import CoalitionAPI
@testable import CoalitionStore

@Suite("Identity: login, tokens, row-level security, bad input")
struct IdentityTests {
    @Test func rowLevelSecurityLimitsAnUnfilteredQueryToTheMembersRows() async throws {
        let f = try await CoalitionFixture.start()
        let pool = try f.db.appPool(size: 1)
        try await TestDatabase.using(pool) { (pool: ConnectionPool) async throws in
            let store = Store(pool: pool)
            let member = Caller(
                userID: UUID(uuidString: f.users["viewerA"]!)!, organizationID: UUID(uuidString: f.memberA)!,
                role: .memberViewer, scopes: [.read], tokenID: UUID())
            let (userOrgs, tokenOwners, orgs, audit) = try await store.transaction(as: member) { tx in
                // Deliberately no WHERE clause: the policies are the only filter.
                let users = try await tx.query("SELECT * FROM users")
                let tokens = try await tx.query("SELECT * FROM api_tokens")
                let orgs = try await tx.query("SELECT * FROM organizations")
                let audit = try await tx.query("SELECT * FROM audit_log")
                return (
                    Set(try users.map { try $0.decode("organization_id", as: UUID.self) }),
                    Set(try tokens.map { try $0.decode("user_id", as: UUID.self) }),
                    try orgs.map { try $0.decode("slug", as: String.self) },
                    audit.count
                )
            }
            #expect(userOrgs == [member.organizationID])
            #expect(tokenOwners == [member.userID], "only the member's own tokens")
            #expect(orgs == ["member-a"])
            #expect(audit == 0, "members read no audit entries")
            // Without a caller, nothing at all is visible.
            let anonymous = try await store.transaction(as: nil) { try await $0.query("SELECT count(*) AS n FROM users")[0].decode("n", as: Int.self) }
            #expect(anonymous == 0)
            // And a write that forgets its permission check is stopped by the policy.
            await #expect(throws: PQError.self) {
                try await store.transaction(as: member) { tx in
                    try await tx.query("UPDATE organizations SET name = 'hijacked'")
                    let changed = try await tx.query("SELECT count(*) AS n FROM organizations WHERE name = 'hijacked'")[0].decode("n", as: Int.self)
                    if changed == 0 { throw PQError(.server, message: "policy held", sqlState: "42501") }
                }
            }
        }
        try await f.stop()
    }

    /// Two tenants' transactions and reads interleave on a few connections (through PgBouncer's
    /// three server connections when the run has it): each sees only its own caller, and a
    /// statement without a caller sees none and is not read-only.
    @Test func callerSettingsNeverOutliveTheirTransactionOrRead() async throws {
        let f = try await CoalitionFixture.start()
        let pool = try f.db.appPool(size: 4)
        try await TestDatabase.using(pool) { (pool: ConnectionPool) async throws in
            let store = Store(pool: pool)
            let callers = [("editorA", f.memberA, Role.memberEditor), ("adminB", f.memberB, Role.memberAdmin)].map { name, org, role in
                Caller(userID: UUID(uuidString: f.users[name]!)!, organizationID: UUID(uuidString: org)!, role: role, scopes: [.read, .write], tokenID: UUID())
            }
            let seen: SQL = "SELECT coalesce(current_setting('coalition.user_id', true), '') AS u, current_setting('transaction_read_only') AS ro"
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, caller) in callers.enumerated() {
                    group.addTask {
                        for round in 0..<25 {
                            let inside = (round + index) % 2 == 0
                                ? try await store.transaction(as: caller) { try await $0.query(seen)[0].decode("u", as: String.self) }
                                : try await store.read(as: caller) { try await $0.query(seen)[0].decode("u", as: String.self) }
                            #expect(inside == caller.userID.uuidString.lowercased())
                            let after = try await pool.query(seen)[0]
                            #expect(try after.decode("u", as: String.self) == "", "a caller outlived its transaction")
                            #expect(try after.decode("ro", as: String.self) == "off", "read-only outlived its read")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        try await f.stop()
    }

    @Test func loginAnswersTheSame401ForUnknownEmailAndWrongPassword() async throws {
        let f = try await CoalitionFixture.start()
        let unknown = try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "nobody@x.test", "password": "whatever-long-pw"])
        let wrong = try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "viewerA@fixture.test", "password": "whatever-long-pw"])
        #expect(unknown.status == 401)
        #expect(wrong.status == 401)
        #expect(unknown.json?["detail"] as? String == wrong.json?["detail"] as? String)
        let ok = try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "VIEWERA@fixture.test", "password": CoalitionFixture.password])
        #expect(ok.status == 200, "emails are case-insensitive")
        #expect((ok.json?["token"] as? String)?.hasPrefix("clc_") == true)
        #expect(ok.json?["expires_at"] is String)
        #expect(!ok.text.contains("password_hash") && !ok.text.contains("$2b$"))
        try await f.stop()
    }

    @Test func repeatedFailuresAreThrottledPerEmailWithRetryAfter() async throws {
        let f = try await CoalitionFixture.start(environment: ["COALITION_LOGIN_FAILURES_PER_EMAIL": "3", "COALITION_LOGIN_FAILURES_PER_ADDRESS": "100"])
        for _ in 0..<3 {
            let r = try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "editorA@fixture.test", "password": "wrong-password-1"])
            #expect(r.status == 401)
        }
        let blocked = try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "editorA@fixture.test", "password": CoalitionFixture.password])
        #expect(blocked.status == 429, "even the right password waits")
        let retry = Int(blocked.header("Retry-After") ?? "") ?? 0
        #expect(retry > 0 && retry <= 900)
        #expect(blocked.header("Content-Type") == "application/problem+json")
        let other = try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "viewerA@fixture.test", "password": CoalitionFixture.password])
        #expect(other.status == 200, "another email from the same address is not blocked below the address limit")
        try await f.stop()
    }

    @Test func repeatedFailuresAreThrottledPerClientAddress() async throws {
        let f = try await CoalitionFixture.start(environment: ["COALITION_LOGIN_FAILURES_PER_EMAIL": "100", "COALITION_LOGIN_FAILURES_PER_ADDRESS": "4"])
        for i in 0..<4 {
            _ = try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "guess\(i)@x.test", "password": "wrong-password-1"])
        }
        let blocked = try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "viewerA@fixture.test", "password": CoalitionFixture.password])
        #expect(blocked.status == 429)
        #expect(blocked.header("Retry-After") != nil)
        try await f.stop()
    }

    /// Behind a trusted proxy the client is the address its `X-Forwarded-For` names; from any
    /// other peer the header is ignored, so that nobody picks whose failures are counted.
    @Test func throttlingCountsTheForwardedClientOnlyBehindATrustedProxy() async throws {
        let limits = ["COALITION_LOGIN_FAILURES_PER_EMAIL": "100", "COALITION_LOGIN_FAILURES_PER_ADDRESS": "3"]
        func login(_ f: CoalitionFixture, from client: String, password: String = "wrong-password-1") async throws -> Int {
            try await http(
                .POST, f.server.baseURL + "/v1/auth/login", headers: [("Content-Type", "application/json"), ("X-Forwarded-For", "198.51.100.1, \(client)")],
                body: Data(#"{"email":"viewerA@fixture.test","password":"\#(password)"}"#.utf8)
            ).status
        }
        let behind = try await CoalitionFixture.start(environment: limits.merging(["COALITION_TRUSTED_PROXIES": "127.0.0.0/8, ::1"]) { $1 })
        for _ in 0..<3 { #expect(try await login(behind, from: "203.0.113.7") == 401) }
        #expect(try await login(behind, from: "203.0.113.7", password: CoalitionFixture.password) == 429, "the forwarded client is throttled")
        #expect(try await login(behind, from: "203.0.113.8", password: CoalitionFixture.password) == 200, "another client behind the same proxy is not")
        try await behind.stop()

        let direct = try await CoalitionFixture.start(environment: limits)
        for i in 0..<3 { #expect(try await login(direct, from: "203.0.113.\(i)") == 401) }
        #expect(try await login(direct, from: "203.0.113.9", password: CoalitionFixture.password) == 429, "an untrusted peer's header changes nothing")
        try await direct.stop()
    }

    @Test func aSuccessDoesNotResetAnotherAddresssCounter() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool(size: 1)) { (pool: ConnectionPool) async throws in
            let store = Store(pool: pool)
            try await store.transaction(as: nil) { tx in
                for _ in 0..<3 { _ = try await tx.beginLoginAttempt(emailKey: "a@x.test", address: "10.0.0.1", perEmail: 100, perAddress: 100, windowSeconds: 900) }
                for _ in 0..<2 { _ = try await tx.beginLoginAttempt(emailKey: "a@x.test", address: "10.0.0.2", perEmail: 100, perAddress: 100, windowSeconds: 900) }
                try await tx.clearLoginFailures(emailKey: "a@x.test", address: "10.0.0.1")
            }
            let counts = try await store.transaction(as: nil) { try await $0.loginFailures(emailKey: "a@x.test", address: "10.0.0.2", windowSeconds: 900) }
            #expect(counts.email == 2, "the other address's failures still count against the email")
            #expect(counts.address == 2)
        }
    }

    @Test func tokensAreFoundByPrefixShownOnceAndComparedInConstantTime() async throws {
        let f = try await CoalitionFixture.start()
        let created = try await f.call(.POST, "/v1/tokens", as: "member_editor", json: ["name": "erp sync", "scopes": ["read", "write"], "expires_in_days": 30])
        #expect(created.status == 201)
        let token = try #require(created.json?["token"] as? String)
        let prefix = try #require(created.json?["prefix"] as? String)
        #expect(token.hasPrefix(prefix + "_"))
        let expectedLength = 60  // clc_ + 12-character key id + _ + 43-character (256-bit) secret
        #expect(token.count == expectedLength)
        let list = try await f.call(.GET, "/v1/tokens", as: "member_editor")
        #expect(!list.text.contains(String(token.suffix(43))), "the secret is never listed")
        #expect(list.text.contains(prefix))
        // Stored as a SHA-256 only.
        let stored = try await withOwnerConnection(database: f.db.name) { (conn: Connection) async throws in
            try await conn.query("SELECT secret_hash FROM api_tokens WHERE key_id = \(String(prefix.dropFirst(4)))")[0].decode("secret_hash", as: PQBytes.self)
        }
        #expect(stored.bytes == TokenSecret.parse(token)!.secretHash)
        // Right key id, wrong secret: 401.
        var forged = TokenSecret.parse(token)!
        forged.secret = String(repeating: "A", count: 43)
        let denied = try await CoalitionFixture.call(f.server, .GET, "/v1/me", token: forged.token)
        #expect(denied.status == 401)
        let works = try await CoalitionFixture.call(f.server, .GET, "/v1/me", token: token)
        #expect(works.status == 200)
        // Revoked: 401 from then on.
        _ = try await CoalitionFixture.call(f.server, .DELETE, "/v1/tokens/\(created.json!["id"] as! String)", token: token)
        #expect(try await CoalitionFixture.call(f.server, .GET, "/v1/me", token: token).status == 401)
        #expect(TokenSecret.digestsMatch([1, 2, 3], [1, 2, 3]))
        #expect(!TokenSecret.digestsMatch([1, 2, 3], [1, 2, 4]))
        #expect(!TokenSecret.digestsMatch([1, 2, 3], [1, 2]))
        #expect(TokenSecret.parse("clc_short") == nil)
        try await f.stop()
    }

    @Test func lastUsedIsKeptWithoutAWritePerRequest() async throws {
        let f = try await CoalitionFixture.start()
        let token = try #require(f.tokens["member_viewer"])
        let keyID = String(TokenSecret.parse(token)!.keyID)
        func lastUsed() async throws -> Date? {
            try await withOwnerConnection(database: f.db.name) { (conn: Connection) async throws in
                try await conn.query("SELECT last_used_at FROM api_tokens WHERE key_id = \(keyID)")[0].decode("last_used_at", as: Date?.self)
            }
        }
        _ = try await CoalitionFixture.call(f.server, .GET, "/v1/me", token: token)
        // Written in the background (at most a second later), not by the request.
        var written: Date?
        for _ in 0..<50 where written == nil {
            written = try await lastUsed()
            if written == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let first = try #require(written)
        for _ in 0..<5 { _ = try await CoalitionFixture.call(f.server, .GET, "/v1/me", token: token) }
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await lastUsed() == first, "requests within a minute do not write")
        try await f.stop()
    }

    @Test func badInputIsAnsweredWithProblemsNamingTheFieldAndWritesNothing() async throws {
        let f = try await CoalitionFixture.start(environment: ["COALITION_MAX_BODY_BYTES": "4096"])
        try await Task.sleep(for: .milliseconds(1200))  // let the sealer settle
        let before = try await f.auditCount()
        let orgCount = { () async throws -> Int in
            try await withOwnerConnection(database: f.db.name) { (conn: Connection) async throws in
                try await conn.query("SELECT count(*) AS n FROM organizations")[0].decode("n", as: Int.self)
            }
        }
        let orgsBefore = try await orgCount()
        let cases: [(Data, Int, String?)] = [
            (Data("{\"slug\": ".utf8), 400, nil),
            (Data("[1, 2]".utf8), 400, nil),
            (try JSONSerialization.data(withJSONObject: ["slug": 12, "name": "X", "kind": "member"]), 422, "slug"),
            (try JSONSerialization.data(withJSONObject: ["slug": "ok-slug", "name": "X", "kind": "member", "colour": "green"]), 422, "colour"),
            (try JSONSerialization.data(withJSONObject: ["slug": "Bad Slug!", "name": "X", "kind": "member"]), 422, "slug"),
            (try JSONSerialization.data(withJSONObject: ["slug": "ok-slug", "name": String(repeating: "n", count: 201), "kind": "member"]), 422, "name"),
            (try JSONSerialization.data(withJSONObject: ["slug": "ok-slug", "name": "X", "kind": "club"]), 422, "kind"),
            (try JSONSerialization.data(withJSONObject: ["slug": "ok-slug", "name": "X", "kind": "member", "joined_on": "2023-02-30"]), 422, "joined_on"),
            (try JSONSerialization.data(withJSONObject: ["name": "X", "kind": "member"]), 422, "slug"),
            (Data(repeating: 32, count: 5000), 413, nil),
        ]
        for (body, status, field) in cases {
            let r = try await CoalitionFixture.call(f.server, .POST, "/v1/organizations", token: f.adminToken, raw: body)
            #expect(r.status == status, "\(String(decoding: body.prefix(80), as: UTF8.self)): \(r.text)")
            #expect(r.header("Content-Type") == "application/problem+json")
            if let field {
                let fields = (r.json?["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
                #expect(fields.contains(field), "\(r.text)")
            }
        }
        let userCases: [([String: any Sendable], String)] = [
            (["email": "not-an-email", "display_name": "X", "role": "member_viewer", "password": CoalitionFixture.password], "email"),
            (["email": "ok@x.test", "display_name": "X", "role": "member_viewer", "password": "short"], "password"),
            (["email": "ok@x.test", "display_name": "X", "role": "member_viewer", "password": String(repeating: "p", count: 73)], "password"),
            (["email": "ok@x.test", "display_name": "", "role": "member_viewer", "password": CoalitionFixture.password], "display_name"),
            (["email": "ok@x.test", "display_name": "X", "role": "king", "password": CoalitionFixture.password], "role"),
            (["email": "viewera@FIXTURE.test", "display_name": "X", "role": "member_viewer", "password": CoalitionFixture.password], "email"),
        ]
        for (body, field) in userCases {
            let r = try await f.call(.POST, "/v1/organizations/\(f.memberA)/users", as: "coalition_admin", json: body)
            #expect([409, 422].contains(r.status), "\(body): \(r.text)")
            let fields = (r.json?["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            #expect(fields.contains(field), "\(r.text)")
        }
        let duplicate = try await f.call(.POST, "/v1/organizations", as: "coalition_admin", json: ["slug": "member-a", "name": "Again", "kind": "member"])
        #expect(duplicate.status == 409)
        let pageBad = try await f.call(.GET, "/v1/organizations?limit=0", as: "coalition_admin")
        #expect(pageBad.status == 422)
        let cursorBad = try await f.call(.GET, "/v1/organizations?cursor=%%%", as: "coalition_admin")
        #expect(cursorBad.status == 422)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await f.auditCount() == before, "no audit entry for writes that did not happen")
        #expect(try await orgCount() == orgsBefore)
        try await f.stop()
    }

    @Test func paginationWalksEveryRowOnce() async throws {
        let f = try await CoalitionFixture.start()
        for i in 0..<7 {
            let r = try await f.call(.POST, "/v1/organizations", as: "coalition_admin", json: ["slug": "page-\(i)", "name": "P\(i)", "kind": "partner"])
            #expect(r.status == 201)
        }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let path = "/v1/organizations?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = try await f.call(.GET, path, as: "auditor")
            seen += (page.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["slug"] as? String }
            cursor = page.json?["next_cursor"] as? String
        } while cursor != nil
        #expect(seen.count == 10)
        #expect(Set(seen).count == 10)
        #expect(seen == seen.sorted())
        try await f.stop()
    }
}
