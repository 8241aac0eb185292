import CoalitionDomain
import CoalitionModels
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The console's session: a `console` token whose secret travels only in an HttpOnly,
/// SameSite=Strict cookie scoped to `/console`, and the CSRF token that every state-changing form
/// carries, derived from that secret so that the server stores nothing more for it.
struct ConsoleSession: Sendable {
    static let cookieName = "coalition_console"

    let token: String
    let caller: Caller
    /// The user's display name, shown in the header.
    let name: String

    /// HMAC-SHA256 of a fixed label under the session's secret: a page served to this session
    /// holds it; a page of another origin can neither read it nor the cookie it comes from.
    var csrfToken: String { Self.csrfToken(forSession: token) }

    static func csrfToken(forSession token: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("coalition-console-csrf".utf8), using: SymmetricKey(data: Data(token.utf8)))
        return Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Whether a form's `_csrf` is this session's, compared in constant time.
    func accepts(csrf presented: String?) -> Bool {
        guard let presented else { return false }
        return TokenSecret.digestsMatch(Array(presented.utf8), Array(csrfToken.utf8))
    }

    /// The session cookie's value in the request's `Cookie` fields, if any.
    static func cookie(in request: Request) -> String? {
        for field in request.headers[values: .cookie] {
            for pair in field.split(separator: ";") {
                let pair = pair.trimmingCharacters(in: .whitespaces)
                guard let eq = pair.firstIndex(of: "=") else { continue }
                if pair[..<eq] == cookieName { return String(pair[pair.index(after: eq)...]) }
            }
        }
        return nil
    }

    /// `Set-Cookie` for a new session: HttpOnly, SameSite=Strict, path /console, Secure when the
    /// console is served over TLS.
    static func setCookie(_ token: String, maxAge: Int, secure: Bool) -> String {
        "\(cookieName)=\(token); Path=/console; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// `Set-Cookie` that removes the session cookie.
    static func clearCookie(secure: Bool) -> String {
        "\(cookieName)=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }
}

/// A console form: `application/x-www-form-urlencoded`, read up to a bound before it is parsed
/// (a standard's draft, up to 200,000 characters, is the largest field).
struct ConsoleForm: Sendable {
    static let maxBytes = 1 << 20
    /// A standard's draft: 200,000 characters of up to three UTF-8 bytes, each percent-encoded.
    static let draftMaxBytes = 2 << 20
    /// The login form is read before anyone is known: a few fields, a small bound.
    static let loginMaxBytes = 16 * 1024
    /// The review queue's whole page selected, and the form's own fields.
    static let maxFields = ConsoleRoutes.queueLimit + 50

    let fields: [(name: String, value: String)]

    subscript(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    enum Refusal: Error, Equatable {
        case notAForm, tooLarge, tooManyFields, malformed
    }

    static func read(_ request: Request, limit: Int = maxBytes) async throws -> ConsoleForm {
        let type = (request.headers[.contentType] ?? "").lowercased()
        guard type.hasPrefix("application/x-www-form-urlencoded") else { throw Refusal.notAForm }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw Refusal.tooLarge }
        var bytes: [UInt8] = []
        for try await chunk in request.body {
            guard bytes.count + chunk.readableBytes <= limit else { throw Refusal.tooLarge }
            bytes += chunk.readableBytesView
        }
        return try parse(bytes)
    }

    static func parse(_ bytes: [UInt8]) throws -> ConsoleForm {
        var fields: [(String, String)] = []
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            guard fields.count < maxFields else { throw Refusal.tooManyFields }
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : []) else { throw Refusal.malformed }
            fields.append((name, value))
        }
        return ConsoleForm(fields: fields)
    }

    /// Percent-decoding with `+` as a space; nil for a bad escape or bytes that are not UTF-8.
    static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if b == UInt8(ascii: "%") {
                guard i + 2 < bytes.endIndex, let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) else { return nil }
                out.append(hi << 4 | lo)
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// A form's fields read as the API reads a JSON body: each field's reason collected, and one
/// 422 problem naming all of them at `finish`. An empty field counts as absent.
struct ConsoleFields {
    let form: ConsoleForm
    private(set) var errors: [Problem.FieldError] = []

    init(_ form: ConsoleForm) {
        self.form = form
    }

    mutating func fail(_ field: String, _ message: String) {
        errors.append(.init(field: field, message: message))
    }

    mutating func string(_ key: String, required: Bool = false, check: (String) -> String? = { _ in nil }) -> String? {
        guard let text = form[key], !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            if required { fail(key, "is required") }
            return nil
        }
        if let reason = JSONBody.reason(text, check) {
            fail(key, reason)
            return nil
        }
        return text
    }

    mutating func integer(_ key: String, required: Bool = false, range: ClosedRange<Int>) -> Int? {
        guard let text = string(key, required: required) else { return nil }
        guard let int = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(int) else {
            fail(key, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return int
    }

    mutating func date(_ key: String, required: Bool = false) -> CalendarDate? {
        guard let text = string(key, required: required) else { return nil }
        guard let date = CalendarDate(iso: text.trimmingCharacters(in: .whitespaces)) else {
            fail(key, "must be a date as YYYY-MM-DD")
            return nil
        }
        return date
    }

    mutating func enumeration<E: RawRepresentable<String> & CaseIterable>(_ key: String, _ type: E.Type, required: Bool = false) -> E? {
        guard let text = string(key, required: required) else { return nil }
        guard let value = E(rawValue: text) else {
            fail(key, "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }

    func finish() throws {
        if !errors.isEmpty { throw Problems.invalid(errors) }
    }
}
