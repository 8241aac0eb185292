import Foundation
import NIOHTTP1
import Testing

/// Runs the built `coalition` with `stdin` piped in and the config directory in `configHome`.
/// Variables of the test's own environment that would steer the client are removed.
func runCLI(
    _ arguments: [String], configHome: URL, stdin: String? = nil, environment: [String: String?] = [:]
) async throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = TestEnvironment.binDirectory.appendingPathComponent("coalition")
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for key in env.keys where key.hasPrefix("COALITION_") || key == "DATABASE_URL" || key.hasPrefix("PG") {
        env[key] = nil
    }
    env["XDG_CONFIG_HOME"] = configHome.path
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let out = Pipe()
    let err = Pipe()
    let input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    let stdout = OutputCollector(out)
    let stderr = OutputCollector(err)
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let deadline = ContinuousClock.now + .seconds(60)
    while process.isRunning {
        if ContinuousClock.now > deadline {
            kill(process.processIdentifier, SIGKILL)
            throw TimeoutError(what: "coalition \(arguments.joined(separator: " ")) did not exit")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    try await Task.sleep(for: .milliseconds(50))
    return (process.terminationStatus, stdout.text, stderr.text)
}

/// A fresh, empty directory for `XDG_CONFIG_HOME`.
func temporaryConfigHome() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coalition-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

func posixMode(_ url: URL) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

func lines(_ text: String) -> [Substring] { text.split(separator: "\n") }

@Suite("Command-line client")
struct CLITests {
    @Test func loginWritesAPrivateConfigThatWhoamiAndLogoutUse() async throws {
        let f = try await CoalitionFixture.start()
        let home = try temporaryConfigHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let login = try await runCLI(
            ["login", "--url", f.server.baseURL, "--email", "admin@secretariat.test"], configHome: home, stdin: CoalitionFixture.password + "\n")
        #expect(login.status == 0, "\(login.err)")
        #expect(!login.out.contains(CoalitionFixture.password))
        let file = home.appendingPathComponent("coalition/config.json")
        #expect(try posixMode(file) == 0o600)
        #expect(try posixMode(home.appendingPathComponent("coalition")) == 0o700)
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        #expect(config["url"] as? String == f.server.baseURL)
        let token = try #require(config["token"] as? String)
        #expect(token.hasPrefix("clc_"))

        // whoami with nothing but the file.
        let me = try await runCLI(["whoami"], configHome: home)
        #expect(me.status == 0, "\(me.err)")
        #expect(me.out.contains("admin@secretariat.test"))
        #expect(me.out.contains("coalition_admin"))
        let meJSON = try await runCLI(["whoami", "--output", "json"], configHome: home)
        let slug = try #require(((try JSONSerialization.jsonObject(with: Data(meJSON.out.utf8)) as? [String: Any])?["organization"] as? [String: Any])?["slug"] as? String)
        #expect(me.out.contains(slug))

        // The email can come from standard input too.
        let other = try temporaryConfigHome()
        defer { try? FileManager.default.removeItem(at: other) }
        let login2 = try await runCLI(["login", "--url", f.server.baseURL], configHome: other, stdin: "editorA@fixture.test\n\(CoalitionFixture.password)\n")
        #expect(login2.status == 0, "\(login2.err)")
        #expect(try await runCLI(["whoami"], configHome: other).out.contains("member_editor"))

        // logout revokes the session on the server and removes it from the file.
        let logout = try await runCLI(["logout"], configHome: home)
        #expect(logout.status == 0, "\(logout.err)")
        let after = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        #expect(after["token"] == nil)
        #expect(after["url"] as? String == f.server.baseURL)
        #expect(try posixMode(file) == 0o600)
        #expect(try await CoalitionFixture.call(f.server, .GET, "/v1/me", token: token).status == 401)
        let revoked = try await runCLI(["whoami", "--url", f.server.baseURL], configHome: home, environment: ["COALITION_TOKEN": token])
        #expect(revoked.status == 2)
        #expect(lines(revoked.err).count == 1 && revoked.err.hasPrefix("coalition: "), "\(revoked.err)")
        let anonymous = try await runCLI(["whoami"], configHome: home)
        #expect(anonymous.status == 2, "\(anonymous.err)")
        // The other session is untouched.
        #expect(try await runCLI(["whoami"], configHome: other).status == 0)
        try await f.stop()
    }

    @Test func errorsAreOneLineWithTheirExitStatus() async throws {
        let f = try await CoalitionFixture.start()
        let home = try temporaryConfigHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let wrong = try await runCLI(["login", "--url", f.server.baseURL, "--email", "admin@secretariat.test"], configHome: home, stdin: "not the password\n")
        #expect(wrong.status == 2)
        #expect(lines(wrong.err).count == 1 && wrong.err.hasPrefix("coalition: "), "\(wrong.err)")
        #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent("coalition/config.json").path))

        let bogus = "clc_bogusbogusbo_" + String(repeating: "x", count: 43)
        let badToken = try await runCLI(["organizations", "list"], configHome: home, environment: ["COALITION_URL": f.server.baseURL, "COALITION_TOKEN": bogus])
        #expect(badToken.status == 2)
        #expect(lines(badToken.err).count == 1 && badToken.err.hasPrefix("coalition: "), "\(badToken.err)")
        #expect(badToken.out.isEmpty)

        let env: [String: String?] = ["COALITION_URL": f.server.baseURL, "COALITION_TOKEN": f.adminToken]
        // A refusal other than authentication: 404 → 1, with the problem's title and detail.
        let missing = try await runCLI(["standards", "show", UUID().uuidString], configHome: home, environment: env)
        #expect(missing.status == 1)
        #expect(missing.err.hasPrefix("coalition: Not Found"), "\(missing.err)")
        #expect(lines(missing.err).count == 1)
        // 403 is an authentication problem → 2: a read-scope token may not revoke itself.
        let forbidden = try await runCLI(
            ["logout"], configHome: home, environment: ["COALITION_URL": f.server.baseURL, "COALITION_TOKEN": f.tokens["read_scope"]!])
        #expect(forbidden.status == 2, "\(forbidden.err)")
        #expect(lines(forbidden.err).count == 1 && forbidden.err.hasPrefix("coalition: Forbidden"), "\(forbidden.err)")
        #expect(try await CoalitionFixture.call(f.server, .GET, "/v1/me", token: f.tokens["read_scope"]).status == 200)
        // Usage errors exit 2, not 64.
        #expect(try await runCLI(["organizations", "list", "--output", "xml"], configHome: home, environment: env).status == 2)
        #expect(try await runCLI(["standards", "review", "CLC-STD-0001"], configHome: home, environment: env).status == 2)
        #expect(try await runCLI(["standards", "review", "CLC-STD-0001", "--reject"], configHome: home, environment: env).status == 2)
        #expect(try await runCLI(["no-such-command"], configHome: home).status == 2)
        let down = try await runCLI(["projects", "list", "--url", "http://127.0.0.1:1"], configHome: home)
        #expect(down.status == 2)
        #expect(down.err.hasPrefix("coalition: cannot reach http://127.0.0.1:1") && lines(down.err).count == 1, "\(down.err)")
        try await f.stop()
    }

    @Test func listsPrintTablesJSONAndCSVFollowingEveryPage() async throws {
        let p = try await ProjectFixture.start()
        let f = p.f
        let home = try temporaryConfigHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let env: [String: String?] = ["COALITION_URL": f.server.baseURL, "COALITION_TOKEN": f.adminToken]

        // --page-size 1 makes the client follow next_cursor through every page.
        let json = try await runCLI(["organizations", "list", "--output", "json", "--page-size", "1"], configHome: home, environment: env)
        #expect(json.status == 0, "\(json.err)")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [[String: Any]], "\(json.out)")
        let slugs = Set(array.compactMap { $0["slug"] as? String })
        #expect(slugs.isSuperset(of: ["member-a", "member-b"]))
        #expect(array.count == 3, "secretariat and two members: \(slugs)")
        #expect(array.allSatisfy { ($0["id"] as? String).map { $0 == $0.lowercased() } ?? false })

        let csv = try await runCLI(["organizations", "list", "--output", "csv"], configHome: home, environment: env)
        #expect(csv.status == 0)
        let csvLines = csv.out.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(csvLines.first == "id,slug,name,kind,sector,status,joined_on")
        #expect(csvLines.count == 4)

        let table = try await runCLI(["organizations", "list"], configHome: home, environment: env)
        #expect(table.status == 0)
        let rows = lines(table.out)
        #expect(rows.first?.hasPrefix("ID") == true)
        #expect(rows.contains { $0.contains("member-a") })
        // Columns line up: the slug column starts at the same offset on every row.
        let offsets = Set(rows.dropFirst().map { row in row.distance(from: row.startIndex, to: row.range(of: "member-")?.lowerBound ?? row.range(of: " ")!.lowerBound) })
        #expect(rows.count == 4 && !offsets.isEmpty)

        let projects = try await runCLI(["projects", "list", "--output", "csv"], configHome: home, environment: env)
        #expect(projects.out.contains("rpet-recycling"), "\(projects.err)")
        let milestones = try await runCLI(["milestones", "list", "--project", "rpet-recycling", "--output", "json"], configHome: home, environment: env)
        #expect(milestones.status == 0, "\(milestones.err)")
        let keys = (try JSONSerialization.jsonObject(with: Data(milestones.out.utf8)) as? [[String: Any]])?.compactMap { $0["key"] as? String }
        #expect(Set(keys ?? []) == ["rpet-tonnes", "clean-share"])
        let unknown = try await runCLI(["milestones", "list", "--project", "no-such-project"], configHome: home, environment: env)
        #expect(unknown.status == 1)

        // Submissions, filtered, across pages.
        for month in 1...3 {
            let r = try await p.submit(p.tonnes, report("2026-0\(month)-01", "2026-0\(month)-28", "\(month).5"))
            #expect(r.status == 201, "\(r.text)")
        }
        let subs = try await runCLI(
            ["submissions", "list", "--project", "rpet-recycling", "--status", "submitted", "--output", "json", "--page-size", "2"],
            configHome: home, environment: env)
        #expect(subs.status == 0, "\(subs.err)")
        let values = (try JSONSerialization.jsonObject(with: Data(subs.out.utf8)) as? [[String: Any]])?.compactMap { $0["value"] as? String }
        #expect(Set(values ?? []) == ["1.5", "2.5", "3.5"])
        let none = try await runCLI(["submissions", "list", "--status", "approved", "--output", "csv"], configHome: home, environment: env)
        #expect(none.out.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 1, "header only: \(none.out)")
        try await f.stop()
    }

    @Test func reviewsAndPublicationChangeState() async throws {
        let p = try await ProjectFixture.start()
        let f = p.f
        let home = try temporaryConfigHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let env: [String: String?] = ["COALITION_URL": f.server.baseURL, "COALITION_TOKEN": f.adminToken]

        // Submissions: approve one, reject another with a comment.
        let a = try await p.submit(p.tonnes, report("2026-01-01", "2026-01-31", "4"))
        let b = try await p.submit(p.tonnes, report("2026-02-01", "2026-02-28", "5"))
        let idA = try #require(a.json?["id"] as? String)
        let idB = try #require(b.json?["id"] as? String)
        let approve = try await runCLI(["submissions", "review", idA, "--approve", "--comment", "checked"], configHome: home, environment: env)
        #expect(approve.status == 0, "\(approve.err)")
        #expect(approve.out.contains("approved"))
        let reject = try await runCLI(["submissions", "review", idB, "--reject", "--comment", "wrong unit"], configHome: home, environment: env)
        #expect(reject.status == 0, "\(reject.err)")
        #expect(try await f.call(.GET, "/v1/submissions/\(idA)", as: "coalition_admin").json?["status"] as? String == "approved")
        let rejected = try await f.call(.GET, "/v1/submissions/\(idB)", as: "coalition_admin").json
        #expect(rejected?["status"] as? String == "rejected")
        #expect(rejected?["review_comment"] as? String == "wrong unit")
        // Reviewing again is a conflict: exit 1, one line.
        let again = try await runCLI(["submissions", "review", idA, "--approve", "--comment", "again"], configHome: home, environment: env)
        #expect(again.status == 1)
        #expect(again.err.hasPrefix("coalition: Conflict") && lines(again.err).count == 1, "\(again.err)")

        // Standards: a draft submitted for review, approved (the only admin makes the quorum), published.
        let created = try await newStandard(f)
        let id = try #require(created.json?["id"] as? String)
        let code = try #require(created.json?["code"] as? String)
        #expect(try await f.call(.POST, "/v1/standards/\(id)/submit", as: "member_editor").json?["status"] as? String == "in_review")
        let show = try await runCLI(["standards", "show", code], configHome: home, environment: env)
        #expect(show.status == 0, "\(show.err)")
        #expect(show.out.contains(code) && show.out.contains("in_review"))
        let review = try await runCLI(["standards", "review", code, "--approve", "--comment", "fine"], configHome: home, environment: env)
        #expect(review.status == 0, "\(review.err)")
        #expect(try await f.call(.GET, "/v1/standards/\(id)", as: "coalition_admin").json?["status"] as? String == "approved")
        let publish = try await runCLI(["standards", "publish", id], configHome: home, environment: env)
        #expect(publish.status == 0, "\(publish.err)")
        let published = try await f.call(.GET, "/v1/standards/\(id)", as: "coalition_admin").json
        #expect(published?["status"] as? String == "published")
        #expect(published?["published_version"] as? Int == 1)
        // The published standard is listed, anonymously too.
        let list = try await runCLI(["standards", "list", "--output", "csv", "--url", f.server.baseURL], configHome: home)
        #expect(list.status == 0, "\(list.err)")
        #expect(list.out.hasPrefix("id,code,title,category,status,published_version\r\n"))
        #expect(list.out.contains(code))
        try await f.stop()
    }

    @Test func summaryReportWorksAnonymously() async throws {
        let p = try await ProjectFixture.start()
        let f = p.f
        let home = try temporaryConfigHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let s = try await p.submit(p.tonnes, report("2026-01-01", "2026-01-31", "7.25"))
        let id = try #require(s.json?["id"] as? String)
        #expect(try await f.call(.POST, "/v1/submissions/\(id)/review", as: "coalition_admin", json: ["decision": "approve"]).status == 200)
        let env: [String: String?] = ["COALITION_URL": f.server.baseURL]

        let table = try await runCLI(["reports", "summary"], configHome: home, environment: env)
        #expect(table.status == 0, "\(table.err)")
        #expect(table.out.contains("members 2"), "\(table.out)")
        #expect(table.out.contains("material_recycled") && table.out.contains("7.25"), "\(table.out)")
        let json = try await runCLI(["reports", "summary", "--by", "quarter", "--from", "2026-01-01", "--output", "json"], configHome: home, environment: env)
        #expect(json.status == 0, "\(json.err)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(doc["by"] as? String == "quarter")
        #expect((doc["totals"] as? [[String: Any]])?.contains { ($0["period"] as? String)?.hasPrefix("2026") == true && $0["total"] as? String == "7.25" } == true, "\(json.out)")
        let csv = try await runCLI(["reports", "summary", "--output", "csv"], configHome: home, environment: env)
        #expect(csv.out.hasPrefix("metric,unit,aggregation,period,total,submissions,organizations\r\n"), "\(csv.out)")
        let bad = try await runCLI(["reports", "summary", "--from", "yesterday"], configHome: home, environment: env)
        #expect(bad.status == 1)
        #expect(bad.err.contains("from") && lines(bad.err).count == 1, "\(bad.err)")
        try await f.stop()
    }
}
