import CoalitionDomain
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

    @Test func datesParseStrictlyAndCountDays() {
        #expect(PQDate(iso: "2023-07-01")?.description == "2023-07-01")
        #expect(PQDate(iso: "2023-02-29") == nil)
        #expect(PQDate(iso: "2024-02-29") != nil)
        #expect(PQDate(iso: "2023-7-1") == nil)
        #expect(PQDate(iso: "1970-01-02")?.daysSinceEpoch == 1)
        #expect(PQDate(daysSinceEpoch: 19_539).description == "2023-07-01")
    }
}
