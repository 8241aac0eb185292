import CoalitionDomain
import CoalitionModels
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// The console's templates (in the binary) and how a page becomes a response: the layout's
/// model (who is signed in, the navigation their role may use, the logout form's CSRF token)
/// merged with the page's own, and the headers every console response carries.
struct ConsolePages: Sendable {
    let library: MustacheLibrary

    static let stylesheet = String(decoding: PackageResources.console_css, as: UTF8.self)
    static let icon = String(decoding: PackageResources.icon_svg, as: UTF8.self)
    static let script = String(decoding: PackageResources.console_js, as: UTF8.self)

    /// Whether `path` is the console's: its errors are answered as pages, not problem documents.
    static func isConsole(_ path: String) -> Bool {
        path == "/console" || path.hasPrefix("/console/")
    }

    /// The templates are part of the binary, and a test renders each: one that does not parse
    /// is a defect of the build, not a condition to serve around.
    static let shared: ConsolePages = {
        do {
            return try ConsolePages()
        } catch {
            fatalError("a console template does not parse: \(error)")
        }
    }()

    init() throws {
        var library = MustacheLibrary()
        let templates: [(String, [UInt8])] = [
            ("layout", PackageResources.layout_mustache), ("login", PackageResources.login_mustache),
            ("dashboard", PackageResources.dashboard_mustache), ("message", PackageResources.message_mustache),
            ("standards", PackageResources.standards_mustache), ("standard", PackageResources.standard_mustache),
            ("submissions", PackageResources.submissions_mustache), ("projects", PackageResources.projects_mustache),
            ("project", PackageResources.project_mustache), ("organizations", PackageResources.organizations_mustache),
            ("organization", PackageResources.organization_mustache), ("audit", PackageResources.audit_mustache),
        ]
        for (name, text) in templates {
            try library.register(String(decoding: text, as: UTF8.self), named: name)
        }
        self.library = library
    }

    /// No inline script or style, no framing, no third-party origin, forms only to ourselves.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static func securityHeaders(_ headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xFrameOptions] = "DENY"
        headers[.referrerPolicy] = "same-origin"
        headers[.xContentTypeOptions] = "nosniff"
    }

    /// The layout's part of every page.
    struct SessionView {
        let name: String
        let roleLabel: String
        let csrf: String
        let nav: [NavItem]
    }

    struct NavItem {
        let href: String
        let label: String
        let current: Bool
    }

    /// The pages the caller's role may use, and only those.
    static func navigation(for caller: Caller, current: String) -> [NavItem] {
        var items = [("/console", "Dashboard"), ("/console/standards", "Standards")]
        if caller.role.readsEverything { items.append(("/console/submissions", "Review queue")) }
        items.append(("/console/projects", "Projects"))
        if caller.role.readsEverything { items.append(("/console/organizations", "Organizations")) }
        if caller.role.isMember { items.append(("/console/organization", "My organization")) }
        if caller.role.readsEverything { items.append(("/console/audit", "Audit")) }
        return items.map { NavItem(href: $0.0, label: $0.1, current: $0.0 == current) }
    }

    /// Renders template `name` with the page's fields and the layout's; `notice` says what the
    /// form before it did.
    func render(
        _ name: String, _ page: some ConsolePage, session: ConsoleSession? = nil, current: String = "", notice: String? = nil,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        var model: [String: Any] = ["title": page.title]
        for child in Mirror(reflecting: page).children {
            // An absent optional is left out, so that `{{#error}}` is false rather than "nil".
            if let label = child.label, let value = Self.unwrapped(child.value) { model[label] = value }
        }
        if let notice { model["notice"] = notice }
        if let session {
            model["session"] = SessionView(
                name: session.name, roleLabel: session.caller.role.rawValue.replacingOccurrences(of: "_", with: " "),
                csrf: session.csrfToken, nav: Self.navigation(for: session.caller, current: current))
        }
        let html = library.render(model, withTemplate: name) ?? ""
        return Self.html(html, status: status)
    }

    /// The value inside an optional (nil when it is absent); any other value as it is.
    static func unwrapped(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first.flatMap { unwrapped($0.value) }
    }

    /// A page that says one thing: a refusal, or an error the user can act on.
    func message(status: HTTPResponse.Status, title: String, session: ConsoleSession?) -> Response {
        render("message", MessagePage(title: title, detail: nil, errors: [], back: nil), session: session, status: status)
    }

    /// The page that answers a problem: its title, detail and each field's reason.
    func problem(_ problem: Problem, session: ConsoleSession?, back: String? = nil) -> Response {
        let page = MessagePage(
            title: problem.title, detail: problem.detail,
            errors: (problem.errors ?? []).map { MessagePage.FieldError(field: $0.field, message: $0.message) }, back: back)
        return render("message", page, session: session, status: HTTPResponse.Status(code: problem.status))
    }

    static func html(_ html: String, status: HTTPResponse.Status) -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        securityHeaders(&headers)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// 303 See Other: after a form, the browser asks for the next page with GET.
    static func redirect(to path: String) -> Response {
        var headers: HTTPFields = [.location: path, .cacheControl: "no-store"]
        securityHeaders(&headers)
        return Response(status: .seeOther, headers: headers)
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers: HTTPFields = [.contentType: type, .cacheControl: "public, max-age=3600"]
        securityHeaders(&headers)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// A page's model: its title, and the fields its template reads.
protocol ConsolePage {
    var title: String { get }
}

struct LoginPage: ConsolePage {
    var title: String { "Log in" }
    let error: String?
    let email: String
}

struct MessagePage: ConsolePage {
    struct FieldError {
        let field: String
        let message: String
    }

    let title: String
    let detail: String?
    let errors: [FieldError]
    /// The page to go back to (the form's), when known.
    let back: String?
}

struct DashboardPage: ConsolePage {
    struct Count {
        let label: String
        let value: Int
    }

    struct Chart {
        let title: String
        let unit: String
        let svg: String
    }

    struct Queue {
        let label: String
        /// The count, or "1000+" past the count's bound.
        let value: String
        let href: String
    }

    var title: String { "Dashboard" }
    let waiting: [Queue]
    let counts: [Count]
    let charts: [Chart]
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
}
