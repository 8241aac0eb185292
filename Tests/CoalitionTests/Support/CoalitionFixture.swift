import Foundation
import NIOHTTP1
import Testing

/// A running server on its own database with a small coalition: the secretariat (admin and
/// auditor), members A and B (a member admin, editor and viewer each), and bad credentials of
/// every kind. Built through the public API and the built binaries.
struct CoalitionFixture: Sendable {
    let db: TestDatabase
    let server: ServerProcess
    let adminToken: String
    let secretariatID: String
    let memberA: String
    let memberB: String
    /// role name → token, for the users of the secretariat and member A.
    let tokens: [String: String]
    /// user ids by name (e.g. "viewerA", "viewerB").
    let users: [String: String]

    static let password = "correct horse battery staple"

    static func start(environment: [String: String?] = [:]) async throws -> CoalitionFixture {
        let db = try await TestDatabase.migrated()
        var env: [String: String?] = ["COALITION_BCRYPT_COST": "4"]
        for (k, v) in environment { env[k] = v }
        let (status, _, stderr) = try await run(
            "coalition-server", ["bootstrap", "--admin-email", "admin@secretariat.test", "--admin-password", password],
            environment: ["COALITION_OWNER_DATABASE_URL": try db.ownerURL, "COALITION_BCRYPT_COST": "4"])
        guard status == 0 else { throw TimeoutError(what: "bootstrap failed: \(stderr)") }
        let server = try await ServerProcess.start(database: db, environment: env)
        let admin = try await login(server, "admin@secretariat.test", password)
        let me = try await call(server, .GET, "/v1/me", token: admin)
        let secretariat = try #require((me.json?["organization"] as? [String: Any])?["id"] as? String, "GET /v1/me: \(me.status) \(me.text) \(server.companions.last?.stderr.text ?? "")")

        func createOrganization(_ slug: String, kind: String) async throws -> String {
            let r = try await call(server, .POST, "/v1/organizations", token: admin, json: ["slug": slug, "name": slug.capitalized, "kind": kind, "sector": "test"])
            return try #require(r.json?["id"] as? String, "create \(slug): \(r.text)")
        }
        let memberA = try await createOrganization("member-a", kind: "member")
        let memberB = try await createOrganization("member-b", kind: "member")

        var tokens: [String: String] = ["coalition_admin": admin]
        var users: [String: String] = [:]
        func createUser(_ org: String, _ name: String, role: String) async throws -> String {
            let r = try await call(server, .POST, "/v1/organizations/\(org)/users", token: admin,
                                   json: ["email": "\(name)@fixture.test", "display_name": name, "role": role, "password": password])
            let id = try #require(r.json?["id"] as? String, "create user \(name): \(r.text)")
            users[name] = id
            return id
        }
        _ = try await createUser(secretariat, "auditor", role: "auditor")
        tokens["auditor"] = try await login(server, "auditor@fixture.test", password)
        for (name, role) in [("adminA", "member_admin"), ("editorA", "member_editor"), ("viewerA", "member_viewer")] {
            _ = try await createUser(memberA, name, role: role)
            tokens[role] = try await login(server, "\(name)@fixture.test", password)
        }
        _ = try await createUser(memberA, "plainA", role: "member_viewer")
        for (name, role) in [("adminB", "member_admin"), ("viewerB", "member_viewer")] {
            _ = try await createUser(memberB, name, role: role)
        }
        tokens["memberB_admin"] = try await login(server, "adminB@fixture.test", password)
        // Bad credentials: a read-scope token of the coalition admin, an expired one, a revoked
        // one, and a disabled user's session.
        let read = try await call(server, .POST, "/v1/tokens", token: admin, json: ["name": "read only", "scopes": ["read"]])
        tokens["read_scope"] = try #require(read.json?["token"] as? String)
        let expiring = try await call(server, .POST, "/v1/tokens", token: admin, json: ["name": "soon expired", "scopes": ["read", "write"]])
        tokens["expired"] = try #require(expiring.json?["token"] as? String)
        let expiringID = try #require(expiring.json?["id"] as? String)
        try await withOwnerConnection(database: db.name) { conn in
            _ = try await conn.query("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = \(UUID(uuidString: expiringID)!)")
        }
        let revoked = try await call(server, .POST, "/v1/tokens", token: admin, json: ["name": "to revoke", "scopes": ["read", "write"]])
        tokens["revoked"] = try #require(revoked.json?["token"] as? String)
        _ = try await call(server, .DELETE, "/v1/tokens/\(try #require(revoked.json?["id"] as? String))", token: admin)
        _ = try await createUser(memberA, "disabledA", role: "member_editor")
        tokens["disabled"] = try await login(server, "disabledA@fixture.test", password)
        let disable = try await call(server, .PATCH, "/v1/users/\(users["disabledA"]!)", token: admin, json: ["status": "disabled"])
        #expect(disable.status == 200)
        return CoalitionFixture(
            db: db, server: server, adminToken: admin, secretariatID: secretariat, memberA: memberA, memberB: memberB,
            tokens: tokens, users: users)
    }

    static func login(_ server: ServerProcess, _ email: String, _ password: String) async throws -> String {
        let r = try await call(server, .POST, "/v1/auth/login", json: ["email": email, "password": password])
        return try #require(r.json?["token"] as? String, "login \(email): \(r.status) \(r.text)")
    }

    func call(_ method: HTTPMethod, _ path: String, as caller: String?, json: [String: any Sendable]? = nil) async throws -> HTTPResult {
        try await Self.call(server, method, path, token: caller.flatMap { tokens[$0] }, json: json)
    }

    static func call(
        _ server: ServerProcess, _ method: HTTPMethod, _ path: String, token: String? = nil, json: [String: any Sendable]? = nil,
        raw: Data? = nil, headers extra: [(String, String)] = []
    ) async throws -> HTTPResult {
        var headers = extra
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        var body = raw
        if let json {
            body = try JSONSerialization.data(withJSONObject: json)
        }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try await http(method, server.baseURL + path, headers: headers, body: body)
    }

    /// Number of audit rows, read as the owner (no row-level security).
    func auditCount() async throws -> Int {
        try await withOwnerConnection(database: db.name) { conn in
            try await conn.query("SELECT count(*) AS n FROM audit_log")[0].decode("n", as: Int.self)
        }
    }

    func stop() async throws {
        _ = try await server.stop()
    }
}
