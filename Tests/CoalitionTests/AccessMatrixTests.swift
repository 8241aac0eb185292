import Foundation
import NIOHTTP1
import Testing

@Suite("Identity and access: the role × endpoint matrix")
struct AccessMatrixTests {
    /// The callers of the matrix: every role of SPEC §2 (member roles of member A), anonymous,
    /// a read-scope token of the coalition admin, an expired token, a revoked token and a
    /// disabled user's session.
    static let callers = [
        "coalition_admin", "auditor", "member_admin", "member_editor", "member_viewer",
        "anonymous", "read_scope", "expired", "revoked", "disabled",
    ]

    struct Row {
        var method: HTTPMethod
        var path: String
        var body: (@Sendable (String) -> [String: any Sendable])?
        /// Expected status per caller; callers not named use `others`.
        var expected: [String: Int]
        var others: Int
    }

    @Test func everyRoleGetsTheExactStatusOnEveryEndpoint() async throws {
        let f = try await CoalitionFixture.start()
        let a = f.memberA
        let b = f.memberB
        // A user of member A who is none of the callers.
        let viewerA = f.users["plainA"]!
        let viewerB = f.users["viewerB"]!
        // A token of another user, which no caller may revoke.
        let foreign = try await CoalitionFixture.call(f.server, .POST, "/v1/tokens", token: f.tokens["memberB_admin"], json: ["name": "b's token"])
        let foreignToken = try #require(foreign.json?["id"] as? String)
        let unauthenticated = ["anonymous": 401, "expired": 401, "revoked": 401, "disabled": 401]
        func merge(_ m: [String: Int]) -> [String: Int] { unauthenticated.merging(m) { $1 } }

        let rows: [Row] = [
            Row(method: .GET, path: "/v1/me", expected: merge([:]), others: 200),
            Row(method: .GET, path: "/v1/organizations", expected: merge([:]), others: 200),
            Row(method: .POST, path: "/v1/organizations", body: { ["slug": "new-\($0.replacingOccurrences(of: "_", with: "-"))", "name": "New", "kind": "member"] },
                expected: merge(["coalition_admin": 201]), others: 403),
            Row(method: .GET, path: "/v1/organizations/\(a)", expected: merge([:]), others: 200),
            Row(method: .GET, path: "/v1/organizations/\(b)",
                expected: merge(["member_admin": 404, "member_editor": 404, "member_viewer": 404]), others: 200),
            Row(method: .PATCH, path: "/v1/organizations/\(a)", body: { _ in ["sector": "dairy"] },
                expected: merge(["coalition_admin": 200]), others: 403),
            Row(method: .PATCH, path: "/v1/organizations/\(b)", body: { _ in ["sector": "dairy"] },
                expected: merge(["coalition_admin": 200, "member_admin": 404, "member_editor": 404, "member_viewer": 404]), others: 403),
            Row(method: .GET, path: "/v1/organizations/\(a)/users",
                expected: merge(["member_editor": 403, "member_viewer": 403]), others: 200),
            Row(method: .GET, path: "/v1/organizations/\(b)/users",
                expected: merge(["member_admin": 404, "member_editor": 404, "member_viewer": 404]), others: 200),
            Row(method: .POST, path: "/v1/organizations/\(a)/users",
                body: { ["email": "made-by-\($0)@matrix.test", "display_name": "New", "role": "member_viewer", "password": CoalitionFixture.password] },
                expected: merge(["coalition_admin": 201, "member_admin": 201]), others: 403),
            Row(method: .POST, path: "/v1/organizations/\(b)/users",
                body: { ["email": "made-in-b-by-\($0)@matrix.test", "display_name": "New", "role": "member_viewer", "password": CoalitionFixture.password] },
                expected: merge(["coalition_admin": 201, "member_admin": 404, "member_editor": 404, "member_viewer": 404]), others: 403),
            Row(method: .PATCH, path: "/v1/users/\(viewerA)", body: { _ in ["display_name": "Renamed"] },
                expected: merge(["coalition_admin": 200, "member_admin": 200]), others: 403),
            Row(method: .PATCH, path: "/v1/users/\(viewerB)", body: { _ in ["display_name": "Renamed"] },
                expected: merge(["coalition_admin": 200, "member_admin": 404, "member_editor": 404, "member_viewer": 404]), others: 403),
            Row(method: .POST, path: "/v1/tokens", body: { ["name": "token of \($0)"] }, expected: merge(["read_scope": 403]), others: 201),
            Row(method: .GET, path: "/v1/tokens", expected: merge([:]), others: 200),
            Row(method: .DELETE, path: "/v1/tokens/\(foreignToken)", expected: merge(["read_scope": 403]), others: 404),
            Row(method: .GET, path: "/v1/organizations/\(a)/tokens",
                expected: merge(["auditor": 403, "member_editor": 403, "member_viewer": 403]), others: 200),
            Row(method: .GET, path: "/v1/organizations/\(b)/tokens",
                expected: merge(["auditor": 403, "member_admin": 404, "member_editor": 404, "member_viewer": 404]), others: 200),
            Row(method: .DELETE, path: "/v1/organizations/\(b)/tokens/\(foreignToken)",
                expected: merge(["coalition_admin": 200, "member_admin": 404, "member_editor": 404, "member_viewer": 404]), others: 403),
            Row(method: .GET, path: "/v1/audit",
                expected: merge(["member_admin": 403, "member_editor": 403, "member_viewer": 403]), others: 200),
            Row(method: .GET, path: "/v1/audit/verify",
                expected: merge(["member_admin": 403, "member_editor": 403, "member_viewer": 403]), others: 200),
        ]
        var failures: [String] = []
        for row in rows {
            for caller in Self.callers {
                let result = try await f.call(row.method, row.path, as: caller == "anonymous" ? nil : caller, json: row.body?(caller))
                let want = row.expected[caller] ?? row.others
                if result.status != want {
                    failures.append("\(row.method) \(row.path) as \(caller): \(result.status), expected \(want) — \(result.text.prefix(160))")
                }
                if result.status >= 400 {
                    #expect(result.header("Content-Type") == "application/problem+json", "\(row.method) \(row.path) as \(caller)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) cells differ:\n\(failures.joined(separator: "\n"))")
        // Only the coalition admin revoked B's token, through the organization's tokens.
        let stillThere = try await CoalitionFixture.call(f.server, .GET, "/v1/tokens", token: f.tokens["memberB_admin"])
        let items = stillThere.json?["items"] as? [[String: Any]] ?? []
        #expect(items.contains { $0["id"] as? String == foreignToken && $0["revoked_at"] is String })
        try await f.stop()
    }

    @Test func membersListOnlyTheirOwnOrganizationAndNeverOthersUsers() async throws {
        let f = try await CoalitionFixture.start()
        let list = try await f.call(.GET, "/v1/organizations", as: "member_viewer")
        let slugs = (list.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["slug"] as? String }
        #expect(slugs == ["member-a"])
        let all = try await f.call(.GET, "/v1/organizations", as: "auditor")
        let allSlugs = (all.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["slug"] as? String }
        #expect(allSlugs == ["member-a", "member-b", "secretariat"])
        let users = try await f.call(.GET, "/v1/organizations/\(f.memberA)/users", as: "member_admin")
        let emails = (users.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["email"] as? String }
        #expect(!emails.isEmpty)
        #expect(emails.allSatisfy { !$0.hasPrefix("adminb") && !$0.hasPrefix("viewerb") })
        #expect(!users.text.contains("password"), "no password or hash is ever returned")
        try await f.stop()
    }

    @Test func noMassAssignment() async throws {
        let f = try await CoalitionFixture.start()
        let me = f.users["adminA"]
        let viewerA = f.users["viewerA"]!
        // A member admin cannot raise itself or anyone to coalition admin or auditor.
        let selfPromotion = try await f.call(.PATCH, "/v1/users/\(me ?? "")", as: "member_admin", json: ["role": "coalition_admin"])
        #expect(selfPromotion.status == 422)
        #expect((selfPromotion.json?["errors"] as? [[String: Any]])?.first?["field"] as? String == "role")
        let promote = try await f.call(.PATCH, "/v1/users/\(viewerA)", as: "member_admin", json: ["role": "coalition_admin"])
        #expect(promote.status == 422)
        let create = try await f.call(.POST, "/v1/organizations/\(f.memberA)/users", as: "member_admin",
                                      json: ["email": "boss@matrix.test", "display_name": "Boss", "role": "auditor", "password": CoalitionFixture.password])
        #expect(create.status == 422)
        // Fields that are not the caller's to set are refused, not ignored.
        let move = try await f.call(.PATCH, "/v1/users/\(viewerA)", as: "member_admin", json: ["organization_id": f.memberB])
        #expect(move.status == 422)
        #expect((move.json?["errors"] as? [[String: Any]])?.first?["field"] as? String == "organization_id")
        let editorSelf = try await f.call(.PATCH, "/v1/users/\(f.users["editorA"]!)", as: "member_editor", json: ["role": "member_admin"])
        #expect(editorSelf.status == 422)
        let ownName = try await f.call(.PATCH, "/v1/users/\(f.users["editorA"]!)", as: "member_editor", json: ["display_name": "Ed"])
        #expect(ownName.status == 200)
        // A member organization's user cannot be given a secretariat role even by an admin.
        let wrongKind = try await f.call(.PATCH, "/v1/users/\(viewerA)", as: "coalition_admin", json: ["role": "auditor"])
        #expect(wrongKind.status == 422)
        let viewer = try await f.call(.GET, "/v1/organizations/\(f.memberA)/users", as: "coalition_admin")
        let roles = (viewer.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["role"] as? String }
        #expect(!roles.contains("coalition_admin") && !roles.contains("auditor"))
        try await f.stop()
    }
}
