import Foundation

/// A Swift value that can be read from a text-format result column.
public protocol PQDecodable: Sendable {
    /// Column types this Swift type accepts; a column of another type is a `typeMismatch`.
    static var acceptedTypes: Set<PQType> { get }
    /// Parses the server's text representation; nil when the text is not a valid value.
    static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> Self?
    /// The value for SQL NULL; throws `unexpectedNull` unless the type is an Optional.
    static func decodeNull(column: String) throws(PQError) -> Self
}

extension PQDecodable {
    public static func decodeNull(column: String) throws(PQError) -> Self {
        throw PQError(.unexpectedNull, message: "unexpected NULL in column \(column)", column: column)
    }
}

extension Optional: PQDecodable where Wrapped: PQDecodable {
    public static var acceptedTypes: Set<PQType> { Wrapped.acceptedTypes }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> Wrapped?? {
        Wrapped.decode(pqText: pqText, type: type).map { .some($0) }
    }
    public static func decodeNull(column: String) throws(PQError) -> Wrapped? { nil }
}

extension Optional: PQEncodable where Wrapped: PQEncodable {
    public static var pqType: PQType { Wrapped.pqType }
    public var pqBind: PQBind { self?.pqBind ?? .null(Wrapped.pqType) }
}

// MARK: - Text

let textLikeTypes: Set<PQType> = [.text, .varchar, .bpchar, .name, .char, .unknown]

extension String: PQEncodable, PQDecodable {
    public static var pqType: PQType { .text }
    public var pqBind: PQBind { PQBind(type: .text, bytes: Array(utf8)) }
    public static var acceptedTypes: Set<PQType> { textLikeTypes }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> String? {
        String(decoding: pqText, as: UTF8.self)
    }
}

// MARK: - Integers

@inline(__always)
func parseInteger(_ bytes: ArraySlice<UInt8>) -> Int64? {
    var iterator = bytes.makeIterator()
    guard var c = iterator.next() else { return nil }
    var negative = false
    if c == UInt8(ascii: "-") {
        negative = true
        guard let next = iterator.next() else { return nil }
        c = next
    }
    var value: Int64 = 0
    var current: UInt8? = c
    while let digit = current {
        guard digit >= 48, digit <= 57 else { return nil }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(digit - 48)) : m.addingReportingOverflow(Int64(digit - 48))
        if o1 || o2 { return nil }
        value = a
        current = iterator.next()
    }
    return value
}

let integerTypes: Set<PQType> = [.int2, .int4, .int8, .oid]

extension Int: PQEncodable, PQDecodable {
    public static var pqType: PQType { .int8 }
    public var pqBind: PQBind { textBind(String(self)) }
    public static var acceptedTypes: Set<PQType> { integerTypes }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> Int? { parseInteger(pqText).map(Int.init) }
}

extension Int64: PQEncodable, PQDecodable {
    public static var pqType: PQType { .int8 }
    public var pqBind: PQBind { textBind(String(self)) }
    public static var acceptedTypes: Set<PQType> { integerTypes }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> Int64? { parseInteger(pqText) }
}

extension Int32: PQEncodable, PQDecodable {
    public static var pqType: PQType { .int4 }
    public var pqBind: PQBind { textBind(String(self)) }
    public static var acceptedTypes: Set<PQType> { [.int2, .int4] }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> Int32? { parseInteger(pqText).flatMap(Int32.init(exactly:)) }
}

// MARK: - Bool, Double

extension Bool: PQEncodable, PQDecodable {
    public static var pqType: PQType { .bool }
    public var pqBind: PQBind { textBind(self ? "t" : "f") }
    public static var acceptedTypes: Set<PQType> { [.bool] }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> Bool? {
        switch pqText.first {
        case UInt8(ascii: "t"): true
        case UInt8(ascii: "f"): false
        default: nil
        }
    }
}

extension Double: PQEncodable, PQDecodable {
    public static var pqType: PQType { .float8 }
    public var pqBind: PQBind {
        if isNaN { return textBind("NaN") }
        if isInfinite { return textBind(self < 0 ? "-Infinity" : "Infinity") }
        return textBind("\(self)")
    }
    public static var acceptedTypes: Set<PQType> { [.float4, .float8, .int2, .int4, .int8, .numeric] }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> Double? {
        let text = String(decoding: pqText, as: UTF8.self)
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Double(text)
        }
    }
}

// MARK: - Decimal (numeric), exact

extension Decimal: PQEncodable, PQDecodable {
    public static var pqType: PQType { .numeric }
    /// `Decimal.description` is a plain decimal without exponent, which `numeric` parses exactly.
    public var pqBind: PQBind { isNaN ? textBind("NaN") : textBind(description) }
    public static var acceptedTypes: Set<PQType> { [.numeric, .int2, .int4, .int8] }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> Decimal? {
        let text = String(decoding: pqText, as: UTF8.self)
        if text == "NaN" { return .nan }
        // Decimal(string:) with no locale reads "." as the separator, whatever the process locale.
        return Decimal(string: text, locale: posix)
    }

    /// Made once, not once per value decoded.
    private static let posix = Locale(identifier: "en_US_POSIX")
}

// MARK: - UUID

extension UUID: PQEncodable, PQDecodable {
    public static var pqType: PQType { .uuid }
    public var pqBind: PQBind { textBind(uuidString.lowercased()) }
    public static var acceptedTypes: Set<PQType> { [.uuid] }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> UUID? {
        UUID(uuidString: String(decoding: pqText, as: UTF8.self))
    }
}

// MARK: - bytea

/// Binary data bound as `bytea` (sent in binary format, so any byte is allowed).
public struct PQBytes: PQEncodable, PQDecodable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public static var pqType: PQType { .bytea }
    public var pqBind: PQBind { PQBind(type: .bytea, format: .binary, bytes: bytes) }
    public static var acceptedTypes: Set<PQType> { [.bytea] }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> PQBytes? {
        // Text output of bytea in the default hex format: \x0a1b…
        guard pqText.count >= 2, pqText.first == UInt8(ascii: "\\"),
            pqText[pqText.startIndex + 1] == UInt8(ascii: "x"), pqText.count % 2 == 0
        else { return nil }
        var out = [UInt8]()
        out.reserveCapacity((pqText.count - 2) / 2)
        var i = pqText.startIndex + 2
        while i < pqText.endIndex {
            guard let hi = hexValue(pqText[i]), let lo = hexValue(pqText[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return PQBytes(out)
    }
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 48...57: c - 48
    case 97...102: c - 87
    case 65...70: c - 55
    default: nil
    }
}

// MARK: - JSON

/// A JSON document bound as `jsonb` and read from `json` or `jsonb`, kept as its text.
public struct PQJSON: PQEncodable, PQDecodable, Hashable {
    public var text: String
    public init(text: String) { self.text = text }

    public init<T: Encodable>(encoding value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    public static var pqType: PQType { .jsonb }
    public var pqBind: PQBind { PQBind(type: .jsonb, bytes: Array(text.utf8)) }
    public static var acceptedTypes: Set<PQType> { [.json, .jsonb] }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> PQJSON? {
        PQJSON(text: String(decoding: pqText, as: UTF8.self))
    }
}
