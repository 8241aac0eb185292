import AsyncHTTPClient
import CoalitionDomain
import CoalitionModels
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import CoalitionAPI
import CoalitionStore
import PQ

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

/// A server on a fresh database with the demo coalition loaded.
private func demoServer() async throws -> ServerProcess {
    try await demoDatabaseAndServer().server
}

private func demoDatabaseAndServer() async throws -> (db: TestDatabase, server: ServerProcess) {
    let db = try await TestDatabase.migrated()
    let seed = try await run("coalition-server", ["seed-demo"], environment: ["COALITION_OWNER_DATABASE_URL": try db.ownerURL, "COALITION_BCRYPT_COST": "4"])
    #expect(seed.0 == 0, "\(seed.2)")
    return (db, try await ServerProcess.start(database: db, environment: ["COALITION_BCRYPT_COST": "4"]))
}

private let demoPassword = "coalition-demo-2026"

/// A bearer token of the API for a demo account, to check what a console form did.
private func apiToken(_ base: String, _ email: String) async throws -> String {
    let r = try await http(.POST, base + "/v1/auth/login", headers: [("Content-Type", "application/json")],
                           body: Data(#"{"email":"\#(email)","password":"\#(demoPassword)"}"#.utf8))
    return try #require(r.json?["token"] as? String, "\(r.text)")
}

private func api(_ base: String, _ path: String, token: String) async throws -> HTTPResult {
    try await http(.GET, base + path, headers: [("Authorization", "Bearer \(token)")])
}

/// The values of every `name="id"` checkbox on a page, in order.
private func checkboxes(_ html: String) -> [String] {
    html.components(separatedBy: #"name="id" value=""#).dropFirst().map { String($0.prefix { $0 != "\"" }) }
}

/// A `multipart/form-data` body as a browser sends a form with a file.
private func multipart(_ fields: [(String, String)], file: (name: String, filename: String, content: String)?) -> (String, Data) {
    let boundary = "----coalitionTestBoundary7MA4YWxkTrZu0gW"
    var body = ""
    for (name, value) in fields { body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n" }
    if let file {
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.name)\"; filename=\"\(file.filename)\"\r\nContent-Type: text/csv\r\n\r\n\(file.content)\r\n"
    }
    body += "--\(boundary)--\r\n"
    return ("multipart/form-data; boundary=\(boundary)", Data(body.utf8))
}

@Suite("Console: the pages of each role")
struct ConsolePageTests {
    @Test func theReviewQueueDecidesTheSelectedTogetherOrNotAtAll() async throws {
        let server = try await demoServer()
        let base = server.baseURL
        let admin = try await signIn(base, "admin@coalition.example", demoPassword)
        let token = try await apiToken(base, "admin@coalition.example")

        let queue = try await page(.GET, base + "/console/submissions", cookie: admin)
        #expect(queue.status == 200)
        let waiting = checkboxes(queue.text)
        #expect(waiting.count >= 3, "the demo has submissions waiting for review")
        for id in waiting { #expect(try await api(base, "/v1/submissions/\(id)", token: token).json?["status"] as? String == "submitted") }
        let dashboard = try await page(.GET, base + "/console", cookie: admin)
        #expect(dashboard.text.contains("Submissions to review</span> <strong class=\"queue-value\">\(waiting.count)</strong>"), "the dashboard counts the queue")

        // Two approved at once.
        let form = try #require(csrf(queue.text))
        let approve = try await page(.POST, base + "/console/submissions/review", cookie: admin,
                                     form: [("_csrf", form), ("action", "approve"), ("id", waiting[0]), ("id", waiting[1])])
        #expect(approve.status == 303 && approve.header("Location") == "/console/submissions?done=approved")
        for id in waiting[0...1] { #expect(try await api(base, "/v1/submissions/\(id)", token: token).json?["status"] as? String == "approved") }
        let after = try await page(.GET, base + "/console/submissions?done=approved", cookie: admin)
        #expect(after.text.contains("The selected submissions are approved."))
        #expect(!checkboxes(after.text).contains(waiting[0]), "approved ones leave the queue")

        // One that may no longer be approved refuses the whole selection, naming it.
        let mixed = try await page(.POST, base + "/console/submissions/review", cookie: admin,
                                   form: [("_csrf", form), ("action", "approve"), ("id", waiting[2]), ("id", waiting[0])],
                                   headers: [("Referer", base + "/console/submissions")])
        #expect(mixed.status == 409)
        #expect(mixed.text.contains("submission \(waiting[0])") && mixed.text.contains("none of the 2 selected was changed"), "\(mixed.text)")
        #expect(mixed.text.contains(#"<a href="/console/submissions">Back to the page</a>"#))
        #expect(try await api(base, "/v1/submissions/\(waiting[2])", token: token).json?["status"] as? String == "submitted")

        // Rejecting needs a comment; with one, it is recorded.
        let bare = try await page(.POST, base + "/console/submissions/review", cookie: admin, form: [("_csrf", form), ("action", "reject"), ("id", waiting[2])])
        #expect(bare.status == 422 && bare.text.contains("<strong>comment</strong>: is required when rejecting"))
        let rejected = try await page(.POST, base + "/console/submissions/review", cookie: admin,
                                      form: [("_csrf", form), ("action", "reject"), ("id", waiting[2]), ("comment", "attach the weighbridge tickets")])
        #expect(rejected.status == 303)
        let row = try await api(base, "/v1/submissions/\(waiting[2])", token: token).json
        #expect(row?["status"] as? String == "rejected" && row?["review_comment"] as? String == "attach the weighbridge tickets")

        // An auditor verifies; the queue shows it what waits for it, with only that action.
        let auditor = try await signIn(base, "auditor@coalition.example", demoPassword)
        let audits = try await page(.GET, base + "/console/submissions", cookie: auditor)
        #expect(audits.text.contains(#"value="verify""#) && !audits.text.contains(#"value="approve""#))
        #expect(checkboxes(audits.text).contains(waiting[0]))
        let verify = try await page(.POST, base + "/console/submissions/review", cookie: auditor,
                                    form: [("_csrf", try #require(csrf(audits.text))), ("action", "verify"), ("id", waiting[0])])
        #expect(verify.status == 303)
        #expect(try await api(base, "/v1/submissions/\(waiting[0])", token: token).json?["status"] as? String == "verified")
        let notHis = try await page(.POST, base + "/console/submissions/review", cookie: auditor,
                                    form: [("_csrf", try #require(csrf(audits.text))), ("action", "approve"), ("id", waiting[3])])
        #expect(notHis.status == 403)

        // A member has no queue: not in its navigation, 403 when asked, and its form refused
        // before its body is read.
        let editor = try await signIn(base, "editor@clearspring.example", demoPassword)
        let home = try await page(.GET, base + "/console", cookie: editor)
        #expect(!home.text.contains(#"href="/console/submissions""#) && !home.text.contains(#"href="/console/audit""#))
        #expect(!home.text.contains("Waiting for you"))
        let refused = try await page(.GET, base + "/console/submissions", cookie: editor)
        #expect(refused.status == 403 && refused.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(refused.text.contains("only coalition admins and auditors use the review queue"))
        let posted = try await page(.POST, base + "/console/submissions/review", cookie: editor,
                                    form: [("_csrf", try #require(csrf(home.text))), ("action", "approve"), ("id", waiting[3])])
        #expect(posted.status == 403)
        #expect(try await page(.GET, base + "/console/audit", cookie: editor).status == 403)
        #expect(try await page(.GET, base + "/console/organizations", cookie: editor).status == 403)
        _ = try await server.stop()
    }

    @Test func theDashboardCountsAQueueOnlyUpToItsBound() async throws {
        let (db, server) = try await demoDatabaseAndServer()
        let base = server.baseURL
        let auditor = try await signIn(base, "auditor@coalition.example", demoPassword)
        let before = try await page(.GET, base + "/console", cookie: auditor)
        let shown = try #require(before.text.components(separatedBy: #"<strong class="queue-value">"#).dropFirst().first?.prefix { $0 != "<" })
        let approved = try #require(Int(shown), "the demo's approved submissions, counted exactly: \(shown)")
        #expect(approved > 0 && approved <= ReviewQueues.countLimit)
        // Enough approved submissions to pass the bound, written straight into the table.
        let connection = try await Connection.connect(to: try db.superuserURL)
        try await connection.executeScript("""
            SET session_replication_role = replica;
            INSERT INTO submissions (milestone_id, project_id, organization_id, period_start, period_end, value, unit, value_canonical,
                                     status, submitted_by)
            SELECT s.milestone_id, s.project_id, s.organization_id, date '2019-12-31' - g, date '2019-12-31' - g, 1, s.unit, 1,
                   'approved', s.submitted_by
            FROM (SELECT * FROM submissions LIMIT 1) s, generate_series(1, \(ReviewQueues.countLimit)) g;
            """)
        let after = try await page(.GET, base + "/console", cookie: auditor)
        #expect(after.text.contains(#"Submissions to verify</span> <strong class="queue-value">\#(ReviewQueues.countLimit)+</strong>"#))
        _ = try await server.stop()
    }

    @Test func aStandardIsReviewedPublishedAndComparedFromItsPage() async throws {
        let server = try await demoServer()
        let base = server.baseURL
        let reviewer = try await signIn(base, "reviewer@coalition.example", demoPassword)
        let list = try await page(.GET, base + "/console/standards?status=in_review", cookie: reviewer)
        #expect(list.status == 200 && list.text.contains("Recyclable express packaging") && !list.text.contains("liquid detergents"))
        let href = try #require(list.text.components(separatedBy: #"<a href="/console/standards/"#).dropLast(0).dropFirst().first?.prefix { $0 != "\"" })
        let path = "/console/standards/\(href)"
        let standard = try await page(.GET, base + path, cookie: reviewer)
        #expect(standard.text.contains(#"<strong id="ballot-count">1 of 2</strong>"#), "the admin's approval is counted")
        #expect(standard.text.contains("<td>Admin (secretariat)</td><td>approve</td>"))
        let form = try #require(csrf(standard.text))

        let noComment = try await page(.POST, base + path + "/reviews", cookie: reviewer, form: [("_csrf", form), ("decision", "reject")])
        #expect(noComment.status == 422 && noComment.text.contains("is required when rejecting"))
        let approve = try await page(.POST, base + path + "/reviews", cookie: reviewer, form: [("_csrf", form), ("decision", "approve")])
        #expect(approve.status == 303 && approve.header("Location") == path + "?done=review")
        let approved = try await page(.GET, base + path + "?done=review", cookie: reviewer)
        #expect(approved.text.contains(#"id="standard-status">approved<"#) && approved.text.contains("Your review is recorded."))
        #expect(approved.text.contains("Publish the approved version"))
        #expect(try await page(.POST, base + path + "/publish", cookie: reviewer, form: [("_csrf", form)]).status == 303)
        let published = try await page(.GET, base + path, cookie: reviewer)
        #expect(published.text.contains(#"id="standard-status">published<"#))
        // A step the state no longer allows is a 409 page, not a second publication.
        #expect(try await page(.POST, base + path + "/publish", cookie: reviewer, form: [("_csrf", form)]).status == 409)

        // An issuing member's editor drafts version 2 and compares it with version 1; the
        // member declares the adoption of the published version.
        let editor = try await signIn(base, "editor@greenmart.example", demoPassword)
        let asEditor = try await page(.GET, base + path, cookie: editor)
        #expect(!asEditor.text.contains("review-form") && !asEditor.text.contains("Publish"), "reviews and publication are the admins'")
        let editorForm = try #require(csrf(asEditor.text))
        let body = "# Recyclable express packaging\n\nMono-material mailers, water-based inks, a recycling label on every parcel.\nA take-back point in every city."
        let saved = try await page(.POST, base + path + "/versions", cookie: editor, form: [("_csrf", editorForm), ("body", body), ("change_note", "take-back")])
        #expect(saved.status == 303, "\(saved.text)")
        let diff = try await page(.GET, base + path + "?from=1&to=2", cookie: editor)
        #expect(diff.text.contains("Version 1 to version 2: lines added 1, removed 0"), "\(diff.text)")
        #expect(diff.text.contains(#"<tr class="added"><td></td><td>4</td><td aria-label="added">+</td><td><code>A take-back point in every city.</code></td></tr>"#))
        #expect(diff.text.contains("Submit the draft for review"))
        let adopt = try await page(.POST, base + path + "/adoptions", cookie: editor,
                                   form: [("_csrf", editorForm), ("version_number", "1"), ("adopted_on", "2026-01-15"), ("evidence_url", "")])
        #expect(adopt.status == 303 && adopt.header("Location") == path + "?done=adopted")
        let adopted = try await page(.GET, base + path, cookie: editor)
        #expect(adopted.text.contains("<td>Greenmart Platform Group</td><td>1</td><td>2026-01-15</td>"))
        #expect(!adopted.text.contains("adopt-form"), "declared once")
        let again = try await page(.POST, base + path + "/adoptions", cookie: editor,
                                   form: [("_csrf", editorForm), ("version_number", "1"), ("adopted_on", "2026-01-16")])
        #expect(again.status == 409)
        // A long draft of non-ASCII text (1.1 MB as a form) is taken, as the API takes it.
        let long = String(repeating: "é", count: 190_000)
        let longSaved = try await page(.POST, base + path + "/versions", cookie: editor, form: [("_csrf", editorForm), ("body", long)])
        #expect(longSaved.status == 303, "\(longSaved.status)")
        let tooDifferent = try await page(.GET, base + path + "?from=1&to=2", cookie: editor)
        #expect(tooDifferent.status == 200)
        // An auditor may not review: refused before the form is read (no CSRF token needed to say so).
        let auditor = try await signIn(base, "auditor@coalition.example", demoPassword)
        let notTheirs = try await page(.POST, base + path + "/reviews", cookie: auditor, form: [("decision", "approve")])
        #expect(notTheirs.status == 403 && notTheirs.text.contains("only coalition admins review"), "\(notTheirs.text)")
        // Another organization's editor sees no draft form; asking anyway is refused.
        let outsider = try await signIn(base, "editor@clearspring.example", demoPassword)
        let seen = try await page(.GET, base + path, cookie: outsider)
        #expect(!seen.text.contains("draft-body"))
        #expect(try await page(.POST, base + path + "/versions", cookie: outsider, form: [("_csrf", try #require(csrf(seen.text))), ("body", "x")]).status == 403)
        _ = try await server.stop()
    }

    @Test func aMemberReportsProgressByFormAndByCSVAndSeesEachRejectedRow() async throws {
        let server = try await demoServer()
        let base = server.baseURL
        let editor = try await signIn(base, "editor@clearspring.example", demoPassword)
        let token = try await apiToken(base, "editor@clearspring.example")
        let mine = try await page(.GET, base + "/console/organization", cookie: editor)
        #expect(mine.status == 200 && mine.text.contains("<h1>Clearspring"), "\(mine.text.prefix(2000))")
        let form = try #require(csrf(mine.text))
        let milestone = try #require(mine.text.components(separatedBy: #"rpet-recycling · Tonnes of rPET recycled (t)"#).first?
            .components(separatedBy: #"<option value=""#).last?.prefix { $0 != "\"" })
        let today = CalendarDate.today()
        let first = CalendarDate(year: today.year, month: today.month, day: 1)!.description

        let submitted = try await page(.POST, base + "/console/organization/submissions", cookie: editor, form: [
            ("_csrf", form), ("milestone", String(milestone)), ("period_start", first), ("period_end", today.description), ("value", "41.5"), ("unit", "t"),
        ])
        #expect(submitted.status == 303 && submitted.header("Location") == "/console/organization?done=submission", "\(submitted.text)")
        let listed = try await page(.GET, base + "/console/organization?done=submission", cookie: editor)
        #expect(listed.text.contains("Your submission is recorded.") && listed.text.contains("<td class=\"num\">41.5 t</td><td>submitted</td>"))
        let invalid = try await page(.POST, base + "/console/organization/submissions", cookie: editor, form: [
            ("_csrf", form), ("milestone", String(milestone)), ("period_start", first), ("period_end", "2999-01-01"), ("value", "a lot"), ("unit", "t"),
        ])
        #expect(invalid.status == 422)
        #expect(invalid.text.contains("<strong>period_end</strong>") && invalid.text.contains("<strong>value</strong>"))
        let nul = try await page(.POST, base + "/console/organization/submissions", cookie: editor, form: [
            ("_csrf", form), ("milestone", String(milestone)), ("period_start", first), ("period_end", today.description), ("value", "41.5"),
            ("unit", "t"), ("notes", "a\u{0}b"),
        ])
        #expect(nul.status == 422 && nul.text.contains("<strong>notes</strong>: must not contain the NUL character"), "\(nul.status)")

        // A CSV with one good row and one bad one: the good one is stored, the bad one shown.
        let csv = "project,milestone,period_start,period_end,value,unit\n"
            + "rpet-recycling,boxes-sold,\(first),\(today),1300,unit\n"
            + "rpet-recycling,boxes-sold,\(first),\(today),many,unit\n"
        let before = try await api(base, "/v1/submissions?status=submitted&limit=500", token: token).json?["items"] as? [Any]
        let (type, body) = multipart([("_csrf", form)], file: ("file", "october.csv", csv))
        let uploaded = try await http(.POST, base + "/console/organization/uploads", headers: [("Cookie", editor), ("Content-Type", type)], body: body)
        #expect(uploaded.status == 200, "\(uploaded.text)")
        #expect(uploaded.text.contains("Upload of october.csv") && uploaded.text.contains(#"<strong id="upload-rejected">1</strong> rejected"#))
        #expect(uploaded.text.contains(#"<tr><td class="num">3</td><td>value</td><td>must be a decimal number"#), "\(uploaded.text)")
        let afterUpload = try await api(base, "/v1/submissions?status=submitted&limit=500", token: token).json?["items"] as? [Any]
        #expect((afterUpload?.count ?? 0) == (before?.count ?? 0) + 1)

        // Without its CSRF token, or from a viewer, nothing is stored.
        let (type2, noToken) = multipart([], file: ("file", "october.csv", csv.replacingOccurrences(of: "1300", with: "1400")))
        #expect(try await http(.POST, base + "/console/organization/uploads", headers: [("Cookie", editor), ("Content-Type", type2)], body: noToken).status == 403)
        let viewer = try await signIn(base, "viewer@clearspring.example", demoPassword)
        let viewed = try await page(.GET, base + "/console/organization", cookie: viewer)
        #expect(!viewed.text.contains("upload-form") && !viewed.text.contains("submission-form"))
        let (type3, asViewer) = multipart([("_csrf", try #require(csrf(viewed.text)))], file: ("file", "october.csv", csv))
        #expect(try await http(.POST, base + "/console/organization/uploads", headers: [("Cookie", viewer), ("Content-Type", type3)], body: asViewer).status == 403)
        #expect((try await api(base, "/v1/submissions?status=submitted&limit=500", token: token).json?["items"] as? [Any])?.count == afterUpload?.count)
        // Not a multipart body, or a body over the bound: refused with a page.
        #expect(try await page(.POST, base + "/console/organization/uploads", cookie: editor, form: [("_csrf", form)]).status == 400)
        let huge = Data(count: ConsoleRoutes.uploadMaxBytes + 128 * 1024)
        #expect(try await http(.POST, base + "/console/organization/uploads", headers: [("Cookie", editor), ("Content-Type", type)], body: huge).status == 413)
        _ = try await server.stop()
    }

    @Test func everyPageOfEachRoleAnswersAndErrorsArePages() async throws {
        let server = try await demoServer()
        let base = server.baseURL
        let admin = try await signIn(base, "admin@coalition.example", demoPassword)
        for path in ["/console", "/console/standards", "/console/submissions", "/console/projects", "/console/organizations", "/console/audit", "/console/audit?verify=true"] {
            let r = try await page(.GET, base + path, cookie: admin)
            #expect(r.status == 200, "\(path): \(r.status)")
            #expect(r.text.contains(#"<span class="name">Admin (secretariat)</span> · coalition admin"#), "\(path): the header names the user")
        }
        let projects = try await page(.GET, base + "/console/projects", cookie: admin)
        let project = try #require(projects.text.components(separatedBy: #"<a href="/console/projects/"#).dropFirst().first?.prefix { $0 != "\"" })
        let detail = try await page(.GET, base + "/console/projects/\(project)", cookie: admin)
        #expect(detail.status == 200 && detail.text.contains("<progress") && detail.text.contains("submissions counted"))
        let audit = try await page(.GET, base + "/console/audit?verify=true", cookie: admin)
        #expect(audit.text.contains("The chain verifies:"), "\(audit.text)")
        let organizations = try await page(.GET, base + "/console/organizations", cookie: admin)
        let organization = try #require(organizations.text.components(separatedBy: #"<a href="/console/organizations/"#).dropFirst().first?.prefix { $0 != "\"" })
        let org = try await page(.GET, base + "/console/organizations/\(organization)", cookie: admin)
        #expect(org.status == 200 && org.text.contains("<h2 id=\"users-heading\">Users</h2>"))

        // A member sees its own projects and organization, not another's.
        let editor = try await signIn(base, "editor@meadowgold.example", demoPassword)
        let theirs = try await page(.GET, base + "/console/projects", cookie: editor)
        #expect(theirs.text.contains("Carbon-data recording for goods") && !theirs.text.contains("rPET from factory waste"))
        #expect(try await page(.GET, base + "/console/organizations/\(organization)", cookie: editor).status == 404)

        let missing = try await page(.GET, base + "/console/nothing-here", cookie: admin)
        #expect(missing.status == 404 && missing.header("Content-Type") == "text/html; charset=utf-8" && missing.text.contains("<h1>Not Found</h1>"))
        #expect(missing.header("Content-Security-Policy") != nil)
        let wrongMethod = try await page(.DELETE, base + "/console/standards", cookie: admin)
        #expect(wrongMethod.status == 405 && wrongMethod.header("Allow") == "GET" && wrongMethod.text.contains("Method Not Allowed"))
        let badQuery = try await page(.GET, base + "/console/standards?status=lost", cookie: admin)
        #expect(badQuery.status == 422 && badQuery.text.contains("<strong>status</strong>"))
        let notAStandard = try await page(.GET, base + "/console/standards/not-a-uuid", cookie: admin)
        #expect(notAStandard.status == 404)
        // Every filter a page reads is judged, each bad one named in one 422 page.
        for (path, field) in [
            ("/console/submissions?project=x&status=lost", "project"), ("/console/submissions?status=lost", "status"),
            ("/console/audit?before=abc", "before"), ("/console/audit?entity=%00", "entity"),
            ("/console/audit?action=" + String(repeating: "a", count: 101), "action"), ("/console/standards/\(UUID())?from=0", "from"),
        ] {
            let refused = try await page(.GET, base + path, cookie: admin)
            #expect(refused.status == 422, "\(path): \(refused.status)")
            #expect(refused.text.contains("<strong>\(field)</strong>"), "\(path)")
        }
        // The API keeps answering problem documents.
        #expect(try await http(.GET, base + "/v1/nothing-here").header("Content-Type") == "application/problem+json")
        _ = try await server.stop()
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
        for name in ["layout", "login", "dashboard", "message", "standards", "standard", "submissions", "projects", "project", "organizations", "organization", "audit"] {
            #expect(pages.library.getTemplate(named: name) != nil, "\(name)")
        }
    }
}

@Suite("Console: line diff and uploads (pure)")
struct ConsoleTextTests {
    @Test func theLineDiffKeepsOrderAndNumbersBothSides() throws {
        let diff = try #require(LineDiff(from: "a\nb\nc\nd", to: "a\nc\nd\ne"))
        #expect(diff.lines.map(\.change) == [.kept, .removed, .kept, .kept, .added])
        #expect(diff.lines.map(\.text) == ["a", "b", "c", "d", "e"])
        #expect(diff.lines[1].oldNumber == 2 && diff.lines[1].newNumber == nil)
        #expect(diff.lines[4].oldNumber == nil && diff.lines[4].newNumber == 4)
        #expect(diff.added == 1 && diff.removed == 1)
        #expect(LineDiff(from: "same", to: "same")?.lines.allSatisfy { $0.change == .kept } == true)
        #expect(LineDiff(from: "", to: "x")?.added == 1)
        // A browser's CRLF is a line break like LF: a draft saved from a form compares line by line.
        let crlf = try #require(LineDiff(from: "a\nb\nc", to: "a\r\nb\r\nC"))
        #expect(crlf.lines.map(\.change) == [.kept, .kept, .removed, .added])
    }

    @Test func theLineDiffComparesOnlyWhatItCanBound() throws {
        // The common beginning and end are kept without comparing: one changed line in a long text.
        let long = (1...50_000).map { "line \($0)" }
        var edited = long
        edited[25_000] = "changed"
        let one = try #require(LineDiff(from: long.joined(separator: "\n"), to: edited.joined(separator: "\n")))
        #expect(one.added == 1 && one.removed == 1 && one.lines.count == 50_001)
        #expect(one.lines.first { $0.change == .added }?.newNumber == 25_001)
        // Two unrelated texts of many lines: refused, not compared in quadratic memory.
        let other = (1...(LineDiff.maxChangedLines + 1)).map { "other \($0)" }
        #expect(LineDiff(from: long.prefix(LineDiff.maxChangedLines + 1).joined(separator: "\n"), to: other.joined(separator: "\n")) == nil)
        #expect(LineDiff(from: String(repeating: "x\n", count: 100_000), to: String(repeating: "y\n", count: 100_000)) == nil)
    }

    @Test func multipartBodiesParseAsBrowsersSendThemAndRefuseTheRest() throws {
        let body = Array("--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntoken\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nx,y\r\n1,2\r\n\r\n--XyZ--\r\n".utf8)
        let upload = try ConsoleUpload.parse(body, boundary: "XyZ")
        #expect(upload.field("_csrf") == "token")
        #expect(upload.file("file").map { String(decoding: $0, as: UTF8.self) } == "x,y\r\n1,2\r\n")
        #expect(upload.filename("file") == "a.csv")
        #expect(upload.field("file") == nil && upload.file("_csrf") == nil)
        #expect(ConsoleUpload.boundary("multipart/form-data; boundary=\"a b\"") == "a b")
        #expect(ConsoleUpload.boundary("multipart/form-data") == nil)
        #expect(ConsoleUpload.boundary("application/x-www-form-urlencoded; boundary=x") == nil)
        #expect(throws: ConsoleUpload.Refusal.malformed) { try ConsoleUpload.parse(Array("--XyZ\r\nno end".utf8), boundary: "XyZ") }
        #expect(throws: ConsoleUpload.Refusal.malformed) { try ConsoleUpload.parse(Array("garbage".utf8), boundary: "XyZ") }
        // A large hostile body of near-delimiters is refused, not searched byte by byte.
        let hostile = Array("--B\r\n".utf8) + Array(repeating: UInt8(ascii: "\r"), count: 4 << 20)
        #expect(throws: ConsoleUpload.Refusal.malformed) { try ConsoleUpload.parse(hostile, boundary: "B") }
        let dashes = String(repeating: "-", count: 70)
        let ofDashes = Array("--\(dashes)\r\n".utf8) + Array(repeating: UInt8(ascii: "-"), count: 4 << 20)
        #expect(throws: ConsoleUpload.Refusal.malformed) { try ConsoleUpload.parse(ofDashes, boundary: dashes) }
        #expect(ConsoleUpload.find(Array("aab".utf8), in: Array("aaaab".utf8), from: 0) == 2)
        #expect(ConsoleUpload.find(Array("\r\n--B".utf8), in: Array("xx\r\n--B".utf8), from: 0) == 2)
        #expect(ConsoleUpload.find(Array("\r\n--B".utf8), in: Array("xx\r\n--B".utf8), from: 3) == nil)
        #expect(ConsoleUpload.find(Array("abc".utf8), in: Array("ab".utf8), from: 0) == nil)
        let many = (0...ConsoleUpload.maxParts).map { "--B\r\nContent-Disposition: form-data; name=\"f\($0)\"\r\n\r\nv\r\n" }.joined() + "--B--"
        #expect(throws: ConsoleUpload.Refusal.malformed) { try ConsoleUpload.parse(Array(many.utf8), boundary: "B") }
    }
}
