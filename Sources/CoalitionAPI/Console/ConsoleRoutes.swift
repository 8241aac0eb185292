import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The web console under `/console`: server-rendered pages over the same store, `Policy` and
/// row-level security as the API. A page knows its caller only by the session cookie; a bearer
/// token is no session here, and the cookie is no token on `/v1`.
struct ConsoleRoutes: Sendable {
    let env: APIEnvironment
    let authentication: TokenAuthentication
    let pages: ConsolePages

    typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response
    typealias Route = (method: HTTPRequest.Method, path: String, handler: Handler)

    /// Method, path and handler of every console route.
    var routes: [Route] {
        let core: [Route] = [
            (.get, "/console", page { _, _, session in try await dashboard(session) }),
            (.get, "/console/login", { request, context in try await loginForm(request, context) }),
            (.post, "/console/login", { request, context in try await login(request, context) }),
            (.post, "/console/logout", { request, context in try await logout(request, context) }),
            (.get, "/console/assets/console.css", { _, _ in ConsolePages.asset(ConsolePages.stylesheet, type: "text/css; charset=utf-8") }),
            (.get, "/console/assets/console.js", { _, _ in ConsolePages.asset(ConsolePages.script, type: "text/javascript; charset=utf-8") }),
            (.get, "/console/assets/icon.svg", { _, _ in ConsolePages.asset(ConsolePages.icon, type: "image/svg+xml") }),
        ]
        return core + standardRoutes + submissionRoutes + projectRoutes + organizationRoutes + auditRoutes
    }

    /// The method and path of every console route, to tell 405 from 404 under `/console`.
    var table: RouteTable { RouteTable(routes.map { ($0.method, $0.path) }) }

    /// The request's session, or nil when it has no cookie or the cookie names no live console
    /// session of an active user.
    func session(_ request: Request) async throws -> ConsoleSession? {
        guard let token = ConsoleSession.cookie(in: request) else { return nil }
        guard case .caller(let caller) = try await authentication.caller(presenting: token, kinds: [.console]) else { return nil }
        let names = try await env.store.read(as: caller) { try await $0.userNames([caller.userID]) }
        return ConsoleSession(token: token, caller: caller, name: names[caller.userID] ?? "")
    }

    /// A page for a signed-in caller; anyone else is sent to the login form. A `Problem` the
    /// page throws (403, 404, 409, 422) is answered as a page that says it.
    func page(_ body: @escaping @Sendable (Request, AppRequestContext, ConsoleSession) async throws -> Response) -> Handler {
        { request, context in
            guard let session = try await session(request) else { return ConsolePages.redirect(to: "/console/login") }
            do {
                return try await body(request, context, session)
            } catch let problem as Problem {
                return pages.problem(problem, session: session, back: Self.referringPage(request))
            }
        }
    }

    /// A state-changing form of a signed-in caller that `admits` it (403 otherwise).
    func form(
        admits: @escaping @Sendable (Caller) -> Access = { _ in .allowed },
        _ body: @escaping @Sendable (Request, AppRequestContext, ConsoleSession, ConsoleForm) async throws -> Response
    ) -> Handler {
        page { request, context, session in
            try check(admits(session.caller), "the page")
            return try await body(request, context, session, try await readForm(request, session))
        }
    }

    /// The form a caller posted, once who may post it has been asked: read up to `limit`, and
    /// refused unless it is a form (400, 413) that carries the session's CSRF token (403).
    func readForm(_ request: Request, _ session: ConsoleSession, limit: Int = ConsoleForm.maxBytes) async throws -> ConsoleForm {
        let form: ConsoleForm
        do {
            form = try await ConsoleForm.read(request, limit: limit)
        } catch let refusal as ConsoleForm.Refusal {
            throw refusal == .tooLarge ? Problem.tooLarge(limit: limit) : Self.notAForm
        }
        guard session.accepts(csrf: form["_csrf"]) else { throw Self.expiredForm }
        return form
    }

    static let notAForm = Problem(status: 400, title: "Bad Request", detail: "this is not a form this page sends")
    static let expiredForm = Problems.forbidden("this form has expired (or came from another site); reload the page and try again")

    // MARK: - pages

    func loginForm(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        if try await session(request) != nil { return ConsolePages.redirect(to: "/console") }
        return pages.render("login", LoginPage(error: nil, email: ""))
    }

    func login(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        // No session yet, so no CSRF token: a login posted from another origin is refused by
        // its Origin (browsers send it with every POST).
        if let origin = request.headers[.origin], !Self.isSameOrigin(origin, request) {
            return pages.message(status: .forbidden, title: "Log in from the console's own page", session: nil)
        }
        let form: ConsoleForm
        do {
            form = try await ConsoleForm.read(request, limit: ConsoleForm.loginMaxBytes)
        } catch let refusal as ConsoleForm.Refusal {
            return pages.message(status: refusal == .tooLarge ? .contentTooLarge : .badRequest, title: "Not a form this page sends", session: nil)
        }
        let email = (form["email"] ?? "").trimmingCharacters(in: .whitespaces)
        let password = form["password"] ?? ""
        guard (3...254).contains(email.count), (1...72).contains(password.utf8.count), !password.utf8.contains(0) else {
            return pages.render("login", LoginPage(error: "Enter your email and password.", email: String(email.prefix(254))), status: .unprocessableContent)
        }
        let address = context.clientAddress
        let lifetime = env.settings.sessionHours * 3600
        let login: (secret: TokenSecret, expiresAt: Date, value: Void)?
        do {
            login = try await CredentialCheck(env: env).logIn(
                email: email, password: password, address: address, kind: .console, name: "console from \(address)",
                lifetimeSeconds: lifetime, then: { _, _ in })
        } catch let throttled as Throttled {
            var response = pages.render("login", LoginPage(error: "Too many attempts; try again in \(throttled.retryAfter) s.", email: email), status: .tooManyRequests)
            response.headers[.retryAfter] = String(throttled.retryAfter)
            return response
        }
        guard let login else {
            return pages.render("login", LoginPage(error: "Wrong email or password.", email: email), status: .unauthorized)
        }
        var response = ConsolePages.redirect(to: "/console")
        response.headers[.setCookie] = ConsoleSession.setCookie(login.secret.token, maxAge: lifetime, secure: Self.isSecure(request))
        return response
    }

    func logout(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await form { request, _, session, _ in
            _ = try await env.store.transaction(as: session.caller) { try await $0.revokeToken(id: session.caller.tokenID) }
            env.tokens.invalidateAll()
            var response = ConsolePages.redirect(to: "/console/login")
            response.headers[.setCookie] = ConsoleSession.clearCookie(secure: Self.isSecure(request))
            return response
        }(request, context)
    }

    func dashboard(_ session: ConsoleSession) async throws -> Response {
        let caller = session.caller
        let (summary, queues) = try await env.store.read(as: caller) { tx in
            (try await tx.coalitionSummary(from: nil, to: nil, by: .quarter), caller.role.readsEverything ? try await tx.reviewQueues() : nil)
        }
        // What waits for this role: admins review standards and submissions, auditors verify.
        var waiting: [DashboardPage.Queue] = []
        let shown = { (count: Int) in count > ReviewQueues.countLimit ? "\(ReviewQueues.countLimit)+" : String(count) }
        if let queues, caller.role == .coalitionAdmin {
            waiting = [
                DashboardPage.Queue(label: "Standards in review", value: shown(queues.standardsInReview), href: "/console/standards?status=in_review"),
                DashboardPage.Queue(label: "Submissions to review", value: shown(queues.submissionsToReview), href: "/console/submissions?status=submitted"),
            ]
        } else if let queues, caller.role == .auditor {
            waiting = [DashboardPage.Queue(label: "Submissions to verify", value: shown(queues.submissionsToVerify), href: "/console/submissions?status=approved")]
        }
        let counts = [
            DashboardPage.Count(label: "Members", value: summary.members),
            DashboardPage.Count(label: "Partners", value: summary.partners),
            DashboardPage.Count(label: "Standards in force", value: summary.standards),
            DashboardPage.Count(label: "Adoptions", value: summary.adoptions),
            DashboardPage.Count(label: "Projects", value: summary.projects),
        ]
        let charts = BarChart.charts(summary.totals, by: .quarter).map { DashboardPage.Chart(title: $0.title, unit: $0.unit, svg: $0.svg) }
        return pages.render("dashboard", DashboardPage(waiting: waiting, counts: counts, charts: charts), session: session, current: "/console")
    }

    // MARK: - transport

    /// Served over TLS: the server speaks plain HTTP, so TLS ends at a proxy that says so with
    /// `X-Forwarded-Proto` (a client that sends it itself only makes its own cookie stricter).
    static func isSecure(_ request: Request) -> Bool {
        request.headers[.xForwardedProto]?.lowercased() == "https"
    }

    /// The console page a request came from (its `Referer`, same origin only), as a path: a
    /// refused form links back to it.
    static func referringPage(_ request: Request) -> String? {
        guard let referer = request.headers[.referer], let host = request.head.authority else { return nil }
        for origin in ["http://\(host)", "https://\(host)"] where referer.hasPrefix(origin) {
            let path = String(referer.dropFirst(origin.count))
            return ConsolePages.isConsole(path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "") ? path : nil
        }
        return nil
    }

    static func isSameOrigin(_ origin: String, _ request: Request) -> Bool {
        guard let host = request.head.authority else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }
}

extension HTTPField.Name {
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
}
