import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// The PACT filter criteria, read from ListFootprints' query or a RequestCreated event's data:
/// `productId`, `companyId`, `geography`, `classification` and `status` may repeat (OR);
/// `validOn`, `validAfter` and `validBefore` are one timestamp each. Names are matched without
/// regard to case (the specification's own example writes `productid`). Bounded: at most 100
/// values of a criterion, 500 characters each.
struct PACTCriteria {
    static let lists = ["productid", "companyid", "geography", "classification", "status"]
    static let times = ["validon", "validafter", "validbefore"]
    static let spelled = [
        "productid": "productId", "companyid": "companyId", "geography": "geography", "classification": "classification",
        "status": "status", "validon": "validOn", "validafter": "validAfter", "validbefore": "validBefore",
    ]

    static let statuses = ["Active", "Deprecated"]

    var filter = PACTFootprintFilter()
    /// The criteria as given (names as the specification spells them, values unchanged), for
    /// a pagination link that repeats them.
    private(set) var queryItems: [(String, String)] = []

    /// Adds one value of criterion `name` (lowercased); false when `name` is no criterion.
    mutating func add(_ name: String, _ value: String) throws -> Bool {
        guard let spelling = Self.spelled[name] else { return false }
        guard (1...500).contains(value.unicodeScalars.count) else { throw PACTError.badRequest("\(spelling) must be 1 to 500 characters") }
        queryItems.append((spelling, value))
        switch name {
        // "The match must be case-insensitive": the store keeps these lowercased.
        case "productid": try Self.append(value.lowercased(), to: &filter.productIDs, spelling)
        case "companyid": try Self.append(value.lowercased(), to: &filter.companyIDs, spelling)
        case "geography": try Self.append(value.lowercased(), to: &filter.geographies, spelling)
        case "classification": try Self.append(value.lowercased(), to: &filter.classifications, spelling)
        // "The match must be case-insensitive" (the specification's `status` parameter).
        case "status": try Self.append(Self.statuses.first { $0.lowercased() == value.lowercased() } ?? value, to: &filter.statuses, spelling)
        default:
            guard let date = PACTTime.parse(value) else { throw PACTError.badRequest("\(spelling) must be an RFC 3339 timestamp such as 2025-01-01T00:00:00Z") }
            switch name {
            case "validon": filter.validOn = date
            case "validafter": filter.validAfter = date
            default: filter.validBefore = date
            }
        }
        return true
    }

    static func append(_ value: String, to list: inout [String], _ spelling: String) throws {
        guard list.count < 100 else { throw PACTError.badRequest("at most 100 values of \(spelling)") }
        list.append(value)
    }

}

/// `GET /3/footprints?…&limit=&cursor=`: the criteria, the page size (1–1000, default 100) and
/// the opaque cursor of a pagination link (the last footprint's feed key; it does not expire).
struct PACTListQuery {
    var criteria = PACTCriteria()
    var limit = PACTRoutes.defaultPageSize
    var after: (Int64, UUID)?

    var filter: PACTFootprintFilter { criteria.filter }

    init(_ parameters: Parameters) throws {
        guard parameters.count <= 300 else { throw PACTError.badRequest("too many query parameters") }
        for (key, value) in parameters {
            let name = key.lowercased(), text = String(value)
            if try criteria.add(name, text) { continue }
            switch name {
            case "limit":
                guard let n = Int(text), (1...PACTRoutes.maxPageSize).contains(n) else {
                    throw PACTError.badRequest("limit must be a whole number from 1 to \(PACTRoutes.maxPageSize)")
                }
                limit = n
            case "cursor":
                guard let decoded = Cursor.decode(text), let key = SubmissionFeedKey(cursorText: decoded) else {
                    throw PACTError.badRequest("cursor is not one this server issued")
                }
                after = (key.micros, key.id)
            default:
                continue  // other parameters (`x-…-` extensions of other hosts) are ignored
            }
        }
    }

    /// The query of the next page: the same criteria and limit, after `key`.
    func next(after key: (Int64, UUID)) -> String {
        let cursor = Cursor.encode(SubmissionFeedKey(micros: key.0, id: key.1).cursorText)
        return (criteria.queryItems + [("limit", String(limit)), ("cursor", cursor)])
            .map { "\($0.0)=\(FormText.encode($0.1))" }.joined(separator: "&")
    }
}

/// A CloudEvents 1.0 event in structured mode, as `POST /3/events` takes it.
struct PACTEvent {
    enum Kind {
        case requestCreated
        case requestFulfilled, requestRejected, published
    }

    static let types: [String: String] = [
        "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3": "created",
        "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3": "fulfilled",
        "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3": "rejected",
        "org.wbcsd.pact.ProductFootprint.PublishedEvent.3": "published",
    ]

    var id: String
    var type: String
    var source: String
    var data: JSONValue
    var kind: Kind

    init(parsing bytes: [UInt8]) throws {
        guard let value = try? JSONValue.parse(bytes), case .object(let event) = value else {
            throw PACTError.badRequest("The event is not a JSON object")
        }
        func text(_ key: String, _ range: ClosedRange<Int> = 1...2000) throws -> String {
            // Counted as PostgreSQL's char_length counts (code points).
            guard case .string(let s)? = event[key], range.contains(s.unicodeScalars.count) else {
                throw PACTError.badRequest("The event's \(key) must be a string of \(range.lowerBound) to \(range.upperBound) characters")
            }
            return s
        }
        guard try text("specversion") == "1.0" else { throw PACTError.badRequest("The event's specversion must be 1.0") }
        id = try text("id", 1...200)
        type = try text("type")
        source = try text("source")
        if event["time"] != nil, PACTTime.parse(try text("time", 1...100)) == nil {
            throw PACTError.badRequest("The event's time must be an RFC 3339 timestamp")
        }
        guard let known = Self.types[type] else { throw PACTError.badRequest("Unknown event type \(type)") }
        guard case .object(let data)? = event["data"] else { throw PACTError.badRequest("The event's data must be an object") }
        self.data = .object(data)
        switch known {
        case "created":
            guard PACTCallbackTarget(source: source) != nil else {
                throw PACTError.badRequest("The event's source must be the https URL of the requester's host")
            }
            _ = try Self.criteria(data)  // judged now (400), read again by the delivery worker
            kind = .requestCreated
        case "fulfilled":
            guard case .string? = data["requestEventId"], case .array? = data["pfs"] else {
                throw PACTError.badRequest("A RequestFulfilled event's data has requestEventId and pfs")
            }
            kind = .requestFulfilled
        case "rejected":
            guard case .string? = data["requestEventId"], case .object? = data["error"] else {
                throw PACTError.badRequest("A RequestRejected event's data has requestEventId and error")
            }
            kind = .requestRejected
        default:
            guard case .array(let ids)? = data["pfIds"], !ids.isEmpty else { throw PACTError.badRequest("A Published event's data has pfIds") }
            kind = .published
        }
    }

    /// A RequestCreated event's criteria, typed as the schema types them: arrays of strings for
    /// the repeatable ones, one timestamp string for `validOn`, `validAfter` and `validBefore`.
    static func criteria(_ data: [String: JSONValue]) throws -> PACTFootprintFilter {
        var criteria = PACTCriteria()
        for (key, value) in data where key != "comment" {
            let name = key.lowercased()
            let values: [JSONValue]
            switch value {
            case .array(let items) where PACTCriteria.lists.contains(name): values = items
            case .string where PACTCriteria.times.contains(name): values = [value]
            default:
                guard PACTCriteria.spelled[name] != nil else { throw PACTError.badRequest("\(key) is not a filter criterion") }
                throw PACTError.badRequest(PACTCriteria.lists.contains(name) ? "\(key) must be an array of strings" : "\(key) must be a timestamp string")
            }
            guard values.count <= 100 else { throw PACTError.badRequest("at most 100 values of \(key)") }
            for item in values {
                guard case .string(let s) = item else { throw PACTError.badRequest("\(key) must hold strings") }
                _ = try criteria.add(name, s)
            }
        }
        return criteria.filter
    }
}

/// Where the answer to a request goes: the requester's host, from the event's `source` (an
/// https URL, or `//host/…` as the specification's examples write it). Its token endpoint is
/// found through `/.well-known/openid-configuration` (else `/auth/token`); events go to
/// `/3/events`.
struct PACTCallbackTarget: Sendable, Equatable {
    var base: String
    var host: String

    init?(source: String) {
        let absolute = source.hasPrefix("//") ? "https:" + source : source
        guard let url = URL(string: absolute), url.scheme?.lowercased() == "https", let host = url.host, !host.isEmpty,
            url.user == nil, url.password == nil
        else { return nil }
        self.host = host
        base = "https://" + (host.contains(":") ? "[\(host)]" : host) + (url.port.map { ":\($0)" } ?? "")
    }
}

extension PACTTime {
    /// An RFC 3339 timestamp, with or without fractional seconds; minutes-only times such as
    /// `2025-04-01T00:00Z` (the specification's own example) are read as whole minutes.
    static func parse(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = plain.date(from: text) ?? fractional.date(from: text) { return date }
        // yyyy-mm-ddThh:mm followed by Z or an offset: add the seconds.
        let chars = Array(text)
        if chars.count >= 17, chars[10] == "T" || chars[10] == "t", chars[13] == ":", chars[16] != ":" {
            return plain.date(from: String(chars[0..<16]) + ":00" + String(chars[16...]))
        }
        return nil
    }
}
