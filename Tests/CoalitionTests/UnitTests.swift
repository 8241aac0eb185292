import CoalitionDomain
import CoalitionModels
import Foundation
import PQ
import Testing

@Suite("Pure rules (no database)")
struct UnitTests {
    @Test func interpolatedValuesBecomeParametersNeverText() {
        let name = "Robert'); DROP TABLE users;--"
        let sql: SQL = "SELECT * FROM users WHERE name = \(name) AND id = \(42)"
        #expect(sql.text == "SELECT * FROM users WHERE name = $1 AND id = $2")
        #expect(sql.binds.count == 2)
        #expect(!sql.description.contains("DROP"))
    }

    @Test func appendedFragmentsAreRenumbered() {
        var sql: SQL = "SELECT 1 WHERE a = \(1)"
        for i in 2...11 { sql.append(" AND b\(unescaped: String(i)) = \(i)") }
        sql.append(" AND c = \("x") OR d = \("y")")
        #expect(sql.binds.count == 13)
        #expect(sql.text.hasSuffix("AND b11 = $11 AND c = $12 OR d = $13"))
    }

    @Test func settingsComeFromTheEnvironmentWithClearErrors() throws {
        let s = try ServerSettings.fromEnvironment([
            "COALITION_PORT": "9000", "DATABASE_URL": "postgresql://a@b/c", "COALITION_DB_POOL_SIZE": "16",
            "COALITION_APPROVAL_QUORUM": "3", "COALITION_LOG_LEVEL": "DEBUG",
        ])
        #expect(s.port == 9000)
        #expect(s.poolSize == 16)
        #expect(s.approvalQuorum == 3)
        #expect(s.logLevel == "debug")
        #expect(s.ownerDatabaseURL == "postgresql://a@b/c", "the owner URL defaults to DATABASE_URL")
        let port = #expect(throws: ServerSettings.Invalid.self) { try ServerSettings.fromEnvironment(["COALITION_PORT": "http"]) }
        #expect(port?.name == "COALITION_PORT")
        let pool = #expect(throws: ServerSettings.Invalid.self) { try ServerSettings.fromEnvironment(["COALITION_DB_POOL_SIZE": "0"]) }
        #expect(pool?.description.contains("between 1 and 200") == true)
        let level = #expect(throws: ServerSettings.Invalid.self) { try ServerSettings.fromEnvironment(["COALITION_LOG_LEVEL": "loud"]) }
        #expect(level?.name == "COALITION_LOG_LEVEL")
    }

    @Test func trustedProxiesNameTheClientAndAreParsedWithClearErrors() throws {
        let proxies = try ServerSettings.fromEnvironment(["COALITION_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5 ,fd00::/8"]).trustedProxies
        #expect(proxies.contains("10.200.3.4") && proxies.contains("192.168.1.5") && proxies.contains("fd12::1"))
        #expect(!proxies.contains("11.0.0.1") && !proxies.contains("192.168.1.6") && !proxies.contains("fe80::1") && !proxies.contains("junk"))
        #expect(proxies.contains("::ffff:10.1.1.1"), "an IPv4-mapped address is its IPv4 address")
        let partial = try ServerSettings.fromEnvironment(["COALITION_TRUSTED_PROXIES": "172.16.0.0/12, 2001:db8:8000::/33"]).trustedProxies
        #expect(partial.contains("172.31.255.255") && !partial.contains("172.32.0.1") && !partial.contains("172.15.255.255"))
        #expect(partial.contains("2001:db8:ffff::1") && !partial.contains("2001:db8:7fff::1"), "a prefix inside a byte")
        #expect(partial.client(peer: "2001:db8:8000::5", forwardedFor: ["2001:db8::9"]) == "2001:db8::9")
        // The nearest untrusted hop is the client; spoofed entries further left are ignored.
        #expect(proxies.client(peer: "10.0.0.2", forwardedFor: ["6.6.6.6, 203.0.113.7"]) == "203.0.113.7")
        #expect(proxies.client(peer: "10.0.0.2", forwardedFor: ["6.6.6.6", "203.0.113.7, 10.1.1.1"]) == "203.0.113.7", "through two proxies, over two fields")
        #expect(proxies.client(peer: "203.0.113.9", forwardedFor: ["6.6.6.6"]) == "203.0.113.9", "an untrusted peer's header is ignored")
        #expect(proxies.client(peer: "10.0.0.2", forwardedFor: []) == "10.0.0.2")
        #expect(proxies.client(peer: "10.0.0.2", forwardedFor: ["6.6.6.6, not-an-ip, 10.9.9.9"]) == "10.9.9.9", "nothing beyond a garbled hop is believed")
        #expect(TrustedProxies.none.client(peer: "10.0.0.2", forwardedFor: ["6.6.6.6"]) == "10.0.0.2")
        for bad in ["10.0.0.0/33", "example.org", "10.0.0.1/x", "::1/129"] {
            let invalid = #expect(throws: ServerSettings.Invalid.self) { try ServerSettings.fromEnvironment(["COALITION_TRUSTED_PROXIES": bad]) }
            #expect(invalid?.name == "COALITION_TRUSTED_PROXIES")
            #expect(invalid?.reason.contains(bad) == true)
        }
    }

    @Test func theRequestLimitsAreSettingsWithClearErrors() throws {
        let s = try ServerSettings.fromEnvironment([
            "COALITION_REQUEST_READ_TIMEOUT_SECONDS": "5", "COALITION_HEADER_TIMEOUT_SECONDS": "2", "COALITION_IDLE_TIMEOUT_SECONDS": "9",
            "COALITION_MAX_HEADER_BYTES": "4096", "COALITION_MAX_HEADER_COUNT": "20", "COALITION_MAX_CONNECTIONS": "10",
            "COALITION_MAX_CONNECTIONS_PER_ADDRESS": "3", "COALITION_SHUTDOWN_GRACE_SECONDS": "7",
        ])
        let timeouts: [Int] = [s.requestReadTimeoutSeconds, s.headerTimeoutSeconds, s.idleTimeoutSeconds]
        let limits: [Int] = [s.maxHeaderBytes, s.maxHeaderCount, s.maxConnections, s.maxConnectionsPerAddress, s.shutdownGraceSeconds]
        #expect(timeouts == [5, 2, 9])
        #expect(limits == [4096, 20, 10, 3, 7])
        for (name, value) in [
            ("COALITION_REQUEST_READ_TIMEOUT_SECONDS", "0"), ("COALITION_HEADER_TIMEOUT_SECONDS", "soon"),
            ("COALITION_IDLE_TIMEOUT_SECONDS", "-1"), ("COALITION_MAX_HEADER_BYTES", "100"), ("COALITION_MAX_HEADER_COUNT", "1"),
            ("COALITION_MAX_CONNECTIONS", "0"), ("COALITION_MAX_CONNECTIONS_PER_ADDRESS", "0"), ("COALITION_SHUTDOWN_GRACE_SECONDS", "9999"),
        ] {
            let invalid = #expect(throws: ServerSettings.Invalid.self) { try ServerSettings.fromEnvironment([name: value]) }
            #expect(invalid?.name == name)
        }
    }

    @Test func theCacheListenAndPreparedStatementSettingsReadWithClearErrors() throws {
        let defaults = try ServerSettings.fromEnvironment(["DATABASE_URL": "postgresql://app@db/c"])
        #expect(defaults.listenDatabaseURL == "postgresql://app@db/c", "the LISTEN session defaults to DATABASE_URL")
        #expect(defaults.authCacheSeconds == 10 && defaults.preparedStatements)
        let s = try ServerSettings.fromEnvironment([
            "DATABASE_URL": "postgresql://app@pgbouncer/c", "COALITION_LISTEN_DATABASE_URL": "postgresql://app@db/c",
            "COALITION_AUTH_CACHE_SECONDS": "0", "COALITION_DB_PREPARED_STATEMENTS": "off",
        ])
        #expect(s.listenDatabaseURL == "postgresql://app@db/c")
        #expect(s.authCacheSeconds == 0 && !s.preparedStatements)
        #expect(try ServerSettings.fromEnvironment(["COALITION_DB_PREPARED_STATEMENTS": " TRUE "]).preparedStatements)
        for (name, value) in [("COALITION_AUTH_CACHE_SECONDS", "301"), ("COALITION_AUTH_CACHE_SECONDS", "ten"), ("COALITION_DB_PREPARED_STATEMENTS", "maybe")] {
            let invalid = #expect(throws: ServerSettings.Invalid.self) { try ServerSettings.fromEnvironment([name: value]) }
            #expect(invalid?.name == name)
            #expect(invalid?.description.contains(value) == true, "\(invalid?.description ?? "")")
        }
    }

    @Test func datesParseStrictlyAndCountDays() {
        #expect(PQDate(iso: "2023-07-01")?.description == "2023-07-01")
        #expect(PQDate(iso: "2023-02-29") == nil)
        #expect(PQDate(iso: "2024-02-29") != nil)
        #expect(PQDate(iso: "2023-7-1") == nil)
        #expect(PQDate(iso: "1970-01-02")?.daysSinceEpoch == 1)
        #expect(PQDate(daysSinceEpoch: 19_539).description == "2023-07-01")
    }
}

@Suite("Policy (pure)")
struct PolicyTests {
    let orgA = UUID()
    let orgB = UUID()

    func caller(_ role: Role, org: UUID? = nil, scopes: Set<TokenScope> = [.read, .write]) -> Caller {
        Caller(userID: UUID(), organizationID: org ?? orgA, role: role, scopes: scopes, tokenID: UUID())
    }

    @Test func membersCannotSeeOtherOrganizations() {
        for role in Role.memberRoles {
            #expect(Policy.readOrganization(caller(role), orgB) == .hidden)
            #expect(Policy.readOrganization(caller(role), orgA) == .allowed)
            #expect(Policy.listUsers(caller(role), organizationID: orgB) == .hidden)
        }
        #expect(Policy.readOrganization(caller(.auditor, org: orgB), orgA) == .allowed)
    }

    @Test func readScopeTokensCannotMutate() {
        let reader = caller(.coalitionAdmin, scopes: [.read])
        #expect(Policy.createOrganization(reader) != .allowed)
        #expect(Policy.createUser(reader, organizationID: orgA) != .allowed)
        #expect(Policy.createOrganization(caller(.coalitionAdmin)) == .allowed)
    }

    @Test func memberAdminsHandOutMemberRolesOnly() {
        let admin = caller(.memberAdmin)
        #expect(Policy.assignRole(admin, .memberEditor))
        #expect(!Policy.assignRole(admin, .coalitionAdmin))
        #expect(!Policy.assignRole(admin, .auditor))
        #expect(Policy.createUser(admin, organizationID: orgA) == .allowed)
        #expect(Policy.createUser(admin, organizationID: orgB) == .hidden)
        #expect(Policy.updatableUserFields(admin, targetID: admin.userID, targetOrganizationID: orgA, targetRole: .memberAdmin) == ["display_name", "password"])
        #expect(Policy.updatableUserFields(admin, targetID: UUID(), targetOrganizationID: orgA, targetRole: .memberViewer) == ["display_name", "password", "role", "status"])
        #expect(Policy.updatableUserFields(admin, targetID: UUID(), targetOrganizationID: orgA, targetRole: .auditor).isEmpty, "not a partner's auditor")
        #expect(Policy.updatableUserFields(caller(.memberViewer), targetID: UUID(), targetOrganizationID: orgA, targetRole: .memberViewer).isEmpty)
    }

    @Test func onlyAdminsAndAuditorsReadTheAuditLog() {
        #expect(Policy.readAudit(caller(.coalitionAdmin)) == .allowed)
        #expect(Policy.readAudit(caller(.auditor)) == .allowed)
        for role in Role.memberRoles { #expect(Policy.readAudit(caller(role)) != .allowed) }
    }

    @Test func validationNamesTheProblem() {
        #expect(Validate.slug("member-a") == nil)
        #expect(Validate.slug("A") != nil)
        #expect(Validate.slug("with space") != nil)
        #expect(Validate.email("a@b.org") == nil)
        #expect(Validate.email("a@b") != nil)
        #expect(Validate.email("a b@c.org") != nil)
        #expect(Validate.password("short") != nil)
        #expect(Validate.password(String(repeating: "x", count: 72)) == nil)
        #expect(Validate.password(String(repeating: "x", count: 73)) != nil)
    }
}
