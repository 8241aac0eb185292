import Foundation

/// An element type of a one-dimensional PostgreSQL array.
public protocol PQArrayElement: PQEncodable, PQDecodable {
    static var arrayType: PQType { get }
    /// The element's text, as it stands inside an array literal before quoting.
    var pqArrayText: String { get }
    /// Array column types this element type is read from.
    static var acceptedArrayTypes: Set<PQType> { get }
}

extension PQArrayElement {
    public static var acceptedArrayTypes: Set<PQType> { [arrayType] }
}

extension String: PQArrayElement {
    public static var arrayType: PQType { .textArray }
    public static var acceptedArrayTypes: Set<PQType> { [.textArray, .varcharArray] }
    public var pqArrayText: String { self }
}
extension Int: PQArrayElement {
    public static var arrayType: PQType { .int8Array }
    public static var acceptedArrayTypes: Set<PQType> { [.int8Array, .int4Array, .int2Array] }
    public var pqArrayText: String { String(self) }
}
extension Int64: PQArrayElement {
    public static var arrayType: PQType { .int8Array }
    public static var acceptedArrayTypes: Set<PQType> { [.int8Array, .int4Array, .int2Array] }
    public var pqArrayText: String { String(self) }
}
extension UUID: PQArrayElement {
    public static var arrayType: PQType { .uuidArray }
    public var pqArrayText: String { uuidString.lowercased() }
}
extension Decimal: PQArrayElement {
    public static var arrayType: PQType { .numericArray }
    public var pqArrayText: String { description }
}
extension PQDate: PQArrayElement {
    public static var arrayType: PQType { .dateArray }
    public var pqArrayText: String { description }
}
extension Bool: PQArrayElement {
    public static var arrayType: PQType { .boolArray }
    public var pqArrayText: String { self ? "t" : "f" }
}

extension Array: PQEncodable where Element: PQArrayElement {
    public static var pqType: PQType { Element.arrayType }
    public var pqBind: PQBind {
        var text = "{"
        for (i, element) in enumerated() {
            if i > 0 { text += "," }
            text += "\""
            for ch in element.pqArrayText.unicodeScalars {
                if ch == "\"" || ch == "\\" { text += "\\" }
                text.unicodeScalars.append(ch)
            }
            text += "\""
        }
        text += "}"
        return PQBind(type: Element.arrayType, bytes: [UInt8](text.utf8))
    }
}

extension Array: PQDecodable where Element: PQArrayElement {
    public static var acceptedTypes: Set<PQType> { Element.acceptedArrayTypes }

    /// Parses a one-dimensional array literal: `{a,"b c",NULL}`. NULL elements are refused.
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> [Element]? {
        guard pqText.first == UInt8(ascii: "{"), pqText.last == UInt8(ascii: "}") else { return nil }
        var result: [Element] = []
        var i = pqText.startIndex + 1
        let end = pqText.endIndex - 1
        if i == end { return [] }
        while i <= end {
            var field: [UInt8] = []
            var quoted = false
            if pqText[i] == UInt8(ascii: "\"") {
                quoted = true
                i += 1
                while i < end, pqText[i] != UInt8(ascii: "\"") {
                    if pqText[i] == UInt8(ascii: "\\") { i += 1 }
                    field.append(pqText[i])
                    i += 1
                }
                i += 1  // closing quote
            } else {
                while i < end, pqText[i] != UInt8(ascii: ",") {
                    field.append(pqText[i])
                    i += 1
                }
            }
            if !quoted, field == [UInt8]("NULL".utf8) { return nil }
            guard let element = Element.decode(pqText: field[...], type: .unspecified) else { return nil }
            result.append(element)
            i += 1  // comma or closing brace
        }
        return result
    }
}
