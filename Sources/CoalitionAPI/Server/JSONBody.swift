import CoalitionDomain
import CoalitionModels
import Foundation
import Hummingbird

/// A JSON object body read strictly: malformed JSON is 400; unknown fields, wrong types and
/// invalid values are collected and answered together as one 422 naming every field. Each
/// request's body type reads its fields through one of these, then `finish` hands it the
/// required ones unwrapped, or throws the 422.
struct JSONBody {
    private let fields: [String: JSONValue]
    private(set) var errors: [Problem.FieldError] = []

    static func read(_ request: Request, limit: Int, allowed: Set<String>) async throws -> JSONBody {
        let buffer = try await request.body.collect(upTo: limit)
        let data = Data(buffer.readableBytesView)
        let value: JSONValue
        do {
            value = try JSONValue.parse(data)
        } catch {
            throw Problem(status: 400, title: "Bad Request", detail: "the body is not valid JSON: \(error.reason) at byte \(error.offset)")
        }
        guard case .object(let object) = value else {
            throw Problem(status: 400, title: "Bad Request", detail: "the body must be a JSON object")
        }
        var body = JSONBody(fields: object)
        for key in object.keys.sorted() where !allowed.contains(key) {
            body.errors.append(.init(field: key, message: "is not a field of this request"))
        }
        return body
    }

    init(fields: [String: JSONValue]) {
        self.fields = fields
    }

    var keys: Set<String> { Set(fields.keys) }

    func has(_ key: String) -> Bool { fields[key] != nil }

    /// A field's JSON as sent, for a body that carries a document of its own (a footprint).
    func value(_ key: String) -> JSONValue? { fields[key] }

    mutating func fail(_ field: String, _ message: String) {
        errors.append(.init(field: field, message: message))
    }

    /// A string field. `check` returns a reason when the value is invalid.
    mutating func string(_ key: String, required: Bool = false, check: (String) -> String? = { _ in nil }) -> String? {
        guard let value = fields[key], value != .null else {
            if required { fail(key, "is required") }
            return nil
        }
        guard case .string(let text) = value else {
            fail(key, "must be a string")
            return nil
        }
        if let reason = Self.reason(text, check) {
            fail(key, reason)
            return nil
        }
        return text
    }

    /// Why a text field's value is refused, or nil. PostgreSQL's text cannot hold U+0000, and no
    /// field of the API or the console needs it; then the field's own `check`.
    static func reason(_ text: String, _ check: (String) -> String?) -> String? {
        text.utf8.contains(0) ? "must not contain the NUL character" : check(text)
    }

    mutating func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type, required: Bool = false) -> E?
    where E.RawValue == String {
        guard let text = string(key, required: required) else { return nil }
        guard let value = E(rawValue: text) else {
            fail(key, "must be one of \(E.spellings)")
            return nil
        }
        return value
    }

    /// An array of enumeration values; nil when absent.
    mutating func enumerations<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) -> [E]? where E.RawValue == String {
        guard let texts = strings(key) else { return nil }
        var values: [E] = []
        for text in texts {
            guard let value = E(rawValue: text) else {
                fail(key, "must hold only \(E.spellings)")
                return nil
            }
            values.append(value)
        }
        return values
    }

    /// A UUID given as a string; `what` names it in the message ("an organization id").
    mutating func uuid(_ key: String, required: Bool = false, _ what: String) -> UUID? {
        guard let text = string(key, required: required) else { return nil }
        guard let id = UUID(uuidString: text) else {
            fail(key, "must be \(what)")
            return nil
        }
        return id
    }

    /// An array of UUIDs given as strings; `what` names them ("organization ids").
    mutating func uuids(_ key: String, _ what: String) -> [UUID]? {
        guard let texts = strings(key) else { return nil }
        let ids = texts.compactMap { UUID(uuidString: $0) }
        guard ids.count == texts.count else {
            fail(key, "must hold \(what)")
            return nil
        }
        return ids
    }

    mutating func integer(_ key: String, required: Bool = false, range: ClosedRange<Int>) -> Int? {
        guard let value = fields[key], value != .null else {
            if required { fail(key, "is required") }
            return nil
        }
        guard case .number(let text) = value, let int = Int(text) else {
            fail(key, "must be a whole number")
            return nil
        }
        guard range.contains(int) else {
            fail(key, "must be from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return int
    }

    mutating func date(_ key: String, required: Bool = false) -> CalendarDate? {
        guard let text = string(key, required: required) else { return nil }
        guard let date = CalendarDate(iso: text) else {
            fail(key, "must be a date as YYYY-MM-DD")
            return nil
        }
        return date
    }

    mutating func strings(_ key: String, required: Bool = false) -> [String]? {
        guard let value = fields[key], value != .null else {
            if required { fail(key, "is required") }
            return nil
        }
        guard case .array(let items) = value else {
            fail(key, "must be an array of strings")
            return nil
        }
        var result: [String] = []
        for item in items {
            guard case .string(let text) = item else {
                fail(key, "must be an array of strings")
                return nil
            }
            result.append(text)
        }
        return result
    }

    /// An exact decimal: a JSON string (`"12.5"`) or number; NaN, infinities, exponents out of
    /// range and more than 20 significant digits are refused.
    mutating func decimal(_ key: String, required: Bool = false) -> Decimal? {
        guard let value = fields[key], value != .null else {
            if required { fail(key, "is required") }
            return nil
        }
        let text: String
        switch value {
        case .string(let s): text = s
        case .number(let n): text = n
        default:
            fail(key, "must be a decimal number, as a string such as \"12.5\" or a JSON number")
            return nil
        }
        switch ExactDecimal.parse(text) {
        case .success(let d): return d
        case .failure(let reason):
            fail(key, reason.description)
            return nil
        }
    }

    /// The raw text of a decimal field, for rules that validate it themselves.
    mutating func decimalText(_ key: String) -> String? {
        switch fields[key] {
        case .string(let s): return s
        case .number(let n): return n
        case .none, .null: return nil
        default:
            fail(key, "must be a decimal number, as a string such as \"12.5\" or a JSON number")
            return nil
        }
    }

    mutating func integers(_ key: String, range: ClosedRange<Int>) -> [Int]? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .array(let items) = value else {
            fail(key, "must be an array of whole numbers")
            return nil
        }
        var result: [Int] = []
        for item in items {
            guard case .number(let text) = item, let n = Int(text), range.contains(n) else {
                fail(key, "must hold whole numbers from \(range.lowerBound) to \(range.upperBound)")
                return nil
            }
            result.append(n)
        }
        return result
    }

    /// Throws the collected 422, if any.
    func finish() throws {
        if !errors.isEmpty { throw Problems.invalid(errors) }
    }

    /// Throws the collected 422, if any; else returns the required fields, unwrapped. (A
    /// required field that is missing was reported, so with no errors every one is present.)
    func finish<each Field>(_ required: repeat (each Field)?) throws -> (repeat each Field) {
        try finish()
        return (repeat try Self.present(each required))
    }

    private static func present<Field>(_ value: Field?) throws -> Field {
        guard let value else { throw Problem(status: 500, title: "Internal Server Error", detail: "a required field was not read") }
        return value
    }
}
