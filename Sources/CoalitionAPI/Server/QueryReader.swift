import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// Reads a request's query parameters strictly: every bad parameter is collected and
/// answered together as one 422 naming each. An empty parameter is as good as absent.
struct QueryReader {
    private let parameters: Parameters
    private(set) var errors: [Problem.FieldError] = []

    init(_ request: Request) {
        parameters = request.uri.queryParameters
    }

    mutating func fail(_ name: String, _ message: String) {
        errors.append(.init(field: name, message: message))
    }

    func string(_ name: String) -> String? {
        guard let text = parameters.get(name), !text.isEmpty else { return nil }
        return text
    }

    mutating func enumeration<E: RawRepresentable & CaseIterable>(_ name: String, _ type: E.Type) -> E? where E.RawValue == String {
        guard let text = string(name) else { return nil }
        guard let value = E(rawValue: text) else {
            fail(name, "must be one of \(E.spellings)")
            return nil
        }
        return value
    }

    mutating func uuid(_ name: String, _ what: String = "an id") -> UUID? {
        guard let text = string(name) else { return nil }
        guard let id = UUID(uuidString: text) else {
            fail(name, "must be \(what)")
            return nil
        }
        return id
    }

    mutating func integer(_ name: String, range: ClosedRange<Int>) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            fail(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return value
    }

    mutating func date(_ name: String) -> CalendarDate? {
        guard let text = string(name) else { return nil }
        guard let date = CalendarDate(iso: text) else {
            fail(name, "must be a date as YYYY-MM-DD")
            return nil
        }
        return date
    }

    /// An RFC 3339 timestamp, with or without fractional seconds.
    mutating func timestamp(_ name: String) -> Date? {
        guard let text = string(name) else { return nil }
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = plain.date(from: text) ?? fractional.date(from: text) else {
            fail(name, "must be an RFC 3339 timestamp")
            return nil
        }
        return date
    }

    /// `?flag`, `?flag=true|1|yes` or `?flag=false|0|no`.
    mutating func flag(_ name: String) -> Bool {
        guard let text = parameters.get(name) else { return false }
        switch text.lowercased() {
        case "true", "1", "yes", "": return true
        case "false", "0", "no": return false
        default:
            fail(name, "must be true or false")
            return false
        }
    }

    /// `?limit=` (1–500, default 50) and `?cursor=` of every list.
    mutating func page<Key: CursorKey>(_ key: Key.Type) -> PageRequest<Key> {
        var page = PageRequest<Key>(limit: 50, after: nil)
        if let text = string("limit") {
            if let value = Int(text), (1...500).contains(value) { page.limit = value } else {
                fail("limit", "must be a whole number from 1 to 500")
            }
        }
        if let text = string("cursor") {
            if let decoded = Cursor.decode(text), let key = Key(cursorText: decoded) { page.after = key } else {
                fail("cursor", "is not a cursor this server issued")
            }
        }
        return page
    }

    /// Throws the collected 422, if any.
    func finish() throws {
        if !errors.isEmpty { throw Problems.invalid(errors) }
    }
}

/// The sort key a list's cursor carries (opaque to clients: base64url of this text).
protocol CursorKey: Sendable {
    init?(cursorText: String)
    var cursorText: String { get }
}

extension String: CursorKey {
    init?(cursorText: String) { self = cursorText }
    var cursorText: String { self }
}

extension UUID: CursorKey {
    init?(cursorText: String) { self.init(uuidString: cursorText) }
    var cursorText: String { uuidString }
}

extension Int64: CursorKey {
    init?(cursorText: String) { self.init(cursorText) }
    var cursorText: String { String(self) }
}

/// One page of a list: how many items, after which key.
struct PageRequest<Key: CursorKey> {
    var limit: Int
    var after: Key?

    /// A list's page parameters and nothing else.
    static func read(_ request: Request) throws -> PageRequest {
        var query = QueryReader(request)
        let page = query.page(Key.self)
        try query.finish()
        return page
    }

    /// One more row than asked is fetched to know whether there is a next page.
    var fetchLimit: Int { limit + 1 }

    /// The page of `rows` (fetched with `fetchLimit`), its cursor the key of its last item.
    func page<Row, Item: Codable & Sendable>(_ rows: [Row], item: (Row) -> Item, key: (Row) -> Key) -> Page<Item> {
        let shown = rows.prefix(limit)
        let next = rows.count > limit ? shown.last.map { Cursor.encode(key($0).cursorText) } : nil
        return Page(items: shown.map(item), nextCursor: next)
    }

    func page<Item: Codable & Sendable>(_ rows: [Item], key: (Item) -> Key) -> Page<Item> {
        page(rows, item: { $0 }, key: key)
    }
}
