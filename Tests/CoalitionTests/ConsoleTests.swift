import AsyncHTTPClient
import CoalitionModels
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import CoalitionAPI

/// The console's requests as a browser sends them: no redirect followed, the cookie kept by hand.
private let browser = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

private func page(
    _ method: HTTPMethod, _ url: String, cookie: String? = nil, form: [(String, String)]? = nil, headers: [(String, String)] = []
) async throws -> HTTPResult {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let cookie { request.headers.add(name: "Cookie", value: cookie) }
    if let form {
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let body = form.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
        request.body = .bytes(ByteBuffer(string: body))
    }
    let response = try await browser.execute(request, timeout: .seconds(60))
    let bytes = try await response.body.collect(upTo: 16 << 20)
    return HTTPResult(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Data(bytes.readableBytesView))
}

private func escape(_ s: String) -> String {
    s.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")) ?? s
}

/// The `_csrf` value of the first form on a page.
private func csrf(_ html: String) -> String? {
    guard let range = html.range(of: #"name="_csrf" value=""#) else { return nil }
    return String(html[range.upperBound...].prefix { $0 != "\"" })
}

/// Logs in through the form; the `name=value` of the session cookie.
private func signIn(_ base: String, _ email: String, _ password: String) async throws -> String {
    let r = try await page(.POST, base + "/console/login", form: [("email", email), ("password", password)])
    #expect(r.status == 303, "\(r.text.prefix(300))")
    let cookie = try #require(r.header("Set-Cookie"))
    return String(cookie.prefix { $0 != ";" })
}

@Suite("Console: sessions, CSRF, pages")
struct ConsoleTests {
    @Test func aLoginSetsAStrictHttpOnlyCookieAndTheDashboardDrawsTheSummary() async throws {
        let db = try await TestDatabase.migrated()
        let seed = try await run("coalition-server", ["seed-demo"], environment: ["COALITION_OWNER_DATABASE_URL": try db.ownerURL, "COALITION_BCRYPT_COST": "4"])
        #expect(seed.0 == 0, "\(seed.2)")
        let server = try await ServerProcess.start(database: db, environment: ["COALITION_BCRYPT_COST": "4"])
        let base = server.baseURL

        let anonymous = try await page(.GET, base + "/console")
        #expect(anonymous.status == 303)
        #expect(anonymous.header("Location") == "/console/login")
        let form = try await page(.GET, base + "/console/login")
        #expect(form.status == 200)
        #expect(form.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
        #expect(form.header("Content-Security-Policy")?.contains("unsafe-inline") == false)
        #expect(form.header("X-Frame-Options") == "DENY")
        #expect(form.header("Referrer-Policy") == "same-origin")
        #expect(form.text.contains(#"<label for="email">"#) && form.text.contains(#"<label for="password">"#))
        #expect(!form.text.contains("<script>") && !form.text.contains("style="), "no inline script or style")
        #expect(!form.text.contains(#"class="error""#) && !form.text.contains("nil"), "no error before a try: \(form.text)")
        let icon = try await page(.GET, base + "/console/assets/icon.svg")
        #expect(icon.status == 200 && icon.header("Content-Type") == "image/svg+xml" && icon.text.hasPrefix("<svg"))
        #expect(form.text.contains(#"<link rel="icon" href="/console/assets/icon.svg""#), "no request for /favicon.ico")

        let wrong = try await page(.POST, base + "/console/login", form: [("email", "admin@coalition.example"), ("password", "not the password")])
        #expect(wrong.status == 401)
        #expect(wrong.text.contains("Wrong email or password."))
        #expect(wrong.header("Set-Cookie") == nil)

        let login = try await page(.POST, base + "/console/login", form: [("email", "admin@coalition.example"), ("password", "coalition-demo-2026")])
        #expect(login.status == 303)
        #expect(login.header("Location") == "/console")
        let setCookie = try #require(login.header("Set-Cookie"))
        let attributes = Set(setCookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
        #expect(attributes.isSuperset(of: ["Path=/console", "HttpOnly", "SameSite=Strict"]), "\(setCookie)")
        #expect(!attributes.contains("Secure"), "plain HTTP here")
        let overTLS = try await page(.POST, base + "/console/login", form: [("email", "admin@coalition.example"), ("password", "coalition-demo-2026")],
                                     headers: [("X-Forwarded-Proto", "https")])
        #expect(overTLS.header("Set-Cookie")?.hasSuffix("; Secure") == true)

        let cookie = String(setCookie.prefix { $0 != ";" })
        let dashboard = try await page(.GET, base + "/console", cookie: cookie)
        #expect(dashboard.status == 200)
        let summary = try await http(.GET, base + "/v1/reports/summary?by=quarter")
        let totals = try #require(summary.json?["totals"] as? [[String: Any]])
        #expect(!totals.isEmpty)
        for total in totals {
            let value = try #require(total["total"] as? String)
            let period = try #require(total["period"] as? String)
            let label = BarChart.periodLabel(try #require(CalendarDate(iso: period)), .quarter)
            #expect(dashboard.text.contains(#"data-period="\#(label)" data-value="\#(value)""#), "\(total["metric"] ?? "") \(label) \(value)")
        }
        #expect(dashboard.text.components(separatedBy: #"<g class="bar""#).count - 1 == totals.count, "one bar per total, no more")
        #expect(dashboard.text.contains("<dt>Members</dt><dd>20</dd>"))
        _ = try await server.stop()
    }

    @Test func theCookieIsNoBearerTokenAndABearerTokenIsNoSession() async throws {
        let f = try await CoalitionFixture.start()
        let base = f.server.baseURL
        let cookie = try await signIn(base, "editorA@fixture.test", CoalitionFixture.password)
        let secret = String(cookie.dropFirst("coalition_console=".count))
        #expect(try await http(.GET, base + "/v1/me", headers: [("Authorization", "Bearer \(secret)")]).status == 401)
        #expect(try await http(.GET, base + "/v1/me", headers: [("Cookie", cookie)]).status == 401)
        let apiToken = try #require(f.tokens["member_editor"])
        let asCookie = try await page(.GET, base + "/console", cookie: "coalition_console=\(apiToken)")
        #expect(asCookie.status == 303 && asCookie.header("Location") == "/console/login")
        let withBearer = try await page(.GET, base + "/console", headers: [("Authorization", "Bearer \(apiToken)")])
        #expect(withBearer.status == 303 && withBearer.header("Location") == "/console/login")
        #expect(try await page(.GET, base + "/console", cookie: cookie).status == 200)
        try await f.stop()
    }

    @Test func aFormWithoutItsCSRFTokenIsRefusedAndLogoutRevokesTheSession() async throws {
        let f = try await CoalitionFixture.start()
        let base = f.server.baseURL
        let cookie = try await signIn(base, "adminA@fixture.test", CoalitionFixture.password)
        let other = try await signIn(base, "adminA@fixture.test", CoalitionFixture.password)
        let dashboard = try await page(.GET, base + "/console", cookie: cookie)
        let token = try #require(csrf(dashboard.text))
        let othersToken = try #require(csrf(try await page(.GET, base + "/console", cookie: other).text))
        #expect(token != othersToken, "each session has its own")

        #expect(try await page(.POST, base + "/console/logout", cookie: cookie, form: []).status == 403)
        #expect(try await page(.POST, base + "/console/logout", cookie: cookie, form: [("_csrf", othersToken)]).status == 403)
        #expect(try await page(.POST, base + "/console/logout", cookie: cookie, form: [("_csrf", String(repeating: "a", count: 43))]).status == 403)
        #expect(try await page(.GET, base + "/console", cookie: cookie).status == 200, "a refused logout ends nothing")

        let logout = try await page(.POST, base + "/console/logout", cookie: cookie, form: [("_csrf", token)])
        #expect(logout.status == 303)
        #expect(logout.header("Location") == "/console/login")
        #expect(logout.header("Set-Cookie")?.hasPrefix("coalition_console=; Path=/console; Max-Age=0") == true)
        let after = try await page(.GET, base + "/console", cookie: cookie)
        #expect(after.status == 303 && after.header("Location") == "/console/login", "the session is revoked, not only the cookie cleared")
        #expect(try await page(.GET, base + "/console", cookie: other).status == 200, "the other session lives on")
        try await f.stop()
    }

    @Test func hostileLoginFormsAreRefusedBeforeAnyPasswordIsChecked() async throws {
        let f = try await CoalitionFixture.start()
        let base = f.server.baseURL
        let good = [("email", "editorA@fixture.test"), ("password", CoalitionFixture.password)]
        let foreign = try await page(.POST, base + "/console/login", form: good, headers: [("Origin", "https://evil.example")])
        #expect(foreign.status == 403)
        #expect(foreign.header("Set-Cookie") == nil)
        let json = try await http(.POST, base + "/console/login", headers: [("Content-Type", "application/json")],
                                  body: Data(#"{"email":"editorA@fixture.test"}"#.utf8))
        #expect(json.status == 400)
        let huge = try await page(.POST, base + "/console/login", form: [("email", String(repeating: "a", count: 70_000)), ("password", "x")])
        #expect(huge.status == 413)
        let many = try await page(.POST, base + "/console/login", form: (0..<300).map { ("f\($0)", "v") })
        #expect(many.status == 400)
        let badEscape = try await http(.POST, base + "/console/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                       body: Data("email=%zz&password=x".utf8))
        #expect(badEscape.status == 400)
        let empty = try await page(.POST, base + "/console/login", form: [("email", ""), ("password", "")])
        #expect(empty.status == 422)
        #expect(empty.text.contains("Enter your email and password."))
        let sameOrigin = try await page(.POST, base + "/console/login", form: good, headers: [("Origin", base)])
        #expect(sameOrigin.status == 303)
        try await f.stop()
    }
}

extension ConsoleTests {
    @Test func theConsoleLoginSharesTheAPIsThrottleAndRefusesDisabledUsers() async throws {
        let f = try await CoalitionFixture.start(environment: ["COALITION_LOGIN_FAILURES_PER_EMAIL": "3", "COALITION_LOGIN_FAILURES_PER_ADDRESS": "100"])
        let base = f.server.baseURL
        // Two failures through the API and one through the console count together.
        for _ in 0..<2 {
            #expect(try await CoalitionFixture.call(f.server, .POST, "/v1/auth/login", json: ["email": "editorA@fixture.test", "password": "wrong-password-1"]).status == 401)
        }
        #expect(try await page(.POST, base + "/console/login", form: [("email", "editorA@fixture.test"), ("password", "wrong-password-1")]).status == 401)
        let blocked = try await page(.POST, base + "/console/login", form: [("email", "editorA@fixture.test"), ("password", CoalitionFixture.password)])
        #expect(blocked.status == 429, "even the right password waits")
        let retry = Int(blocked.header("Retry-After") ?? "") ?? 0
        #expect(retry > 0 && retry <= 900)
        #expect(blocked.text.contains("Too many attempts; try again in \(retry) s."))
        #expect(blocked.header("Set-Cookie") == nil)
        #expect(blocked.text.contains(#"<label for="email">"#), "the form again, to try later")

        // The right password of a disabled user opens no session.
        #expect(try await f.call(.PATCH, "/v1/users/\(f.users["viewerA"]!)", as: "coalition_admin", json: ["status": "disabled"]).status == 200)
        let disabled = try await page(.POST, base + "/console/login", form: [("email", "viewerA@fixture.test"), ("password", CoalitionFixture.password)])
        #expect(disabled.status == 401)
        #expect(disabled.header("Set-Cookie") == nil)
        #expect(disabled.text.contains("Wrong email or password."))
        try await f.stop()
    }
}

@Suite("Console pieces (pure)")
struct ConsolePieceTests {
    @Test func formsDecodeLikeBrowsersEncodeThemAndRefuseTheRest() throws {
        let form = try ConsoleForm.parse(Array("a=1+2&b=%C3%A9t%C3%A9&c=&d&a=x%26y".utf8))
        #expect(form["a"] == "1 2")
        #expect(form.all("a") == ["1 2", "x&y"])
        #expect(form["b"] == "été")
        #expect(form["c"] == "" && form["d"] == "")
        #expect(form["missing"] == nil)
        #expect(throws: ConsoleForm.Refusal.malformed) { try ConsoleForm.parse(Array("a=%4".utf8)) }
        #expect(throws: ConsoleForm.Refusal.malformed) { try ConsoleForm.parse(Array("a=%FF".utf8)) }
        #expect(throws: ConsoleForm.Refusal.tooManyFields) {
            try ConsoleForm.parse(Array((0...ConsoleForm.maxFields).map { "f\($0)=1" }.joined(separator: "&").utf8))
        }
    }

    @Test func barsCarryTheirExactValuesAndEscapeTheirText() {
        let chart = BarChart(title: "<script>", unit: "t", bars: [.init(label: "2026 Q1", value: "12.500"), .init(label: "2026 Q2", value: "0")])
        let svg = chart.svg
        #expect(!svg.contains("<script>"))
        #expect(svg.contains("&lt;script&gt;"))
        #expect(svg.contains(#"data-period="2026 Q1" data-value="12.500""#))
        #expect(svg.contains(">12.500</text>") && svg.contains(">2026 Q2</text>"))
        #expect(svg.contains(#"height="172.0""#), "the largest bar fills the plot")
        #expect(svg.contains(#"height="0.0""#))
        #expect(BarChart.periodLabel(CalendarDate(iso: "2026-07-01")!, .quarter) == "2026 Q3")
        #expect(BarChart.periodLabel(CalendarDate(iso: "2026-01-01")!, .year) == "2026")
    }

    @Test func everyTemplateParses() throws {
        let pages = try ConsolePages()
        for name in ["layout", "login", "dashboard", "message"] {
            #expect(pages.library.getTemplate(named: name) != nil, "\(name)")
        }
    }
}
