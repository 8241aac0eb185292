import Foundation

/// One bound parameter as libpq takes it: a type, a format and bytes (nil for NULL).
public struct PQBind: Sendable {
    public enum Format: Int32, Sendable { case text = 0, binary = 1 }
    public var type: PQType
    public var format: Format
    /// Text-format values must not contain NUL bytes; that is checked when the statement is sent.
    public var bytes: [UInt8]?

    public init(type: PQType, format: Format = .text, bytes: [UInt8]?) {
        self.type = type
        self.format = format
        self.bytes = bytes
    }

    public static func null(_ type: PQType) -> PQBind { PQBind(type: type, bytes: nil) }
}

/// A Swift value that can be sent as a statement parameter.
public protocol PQEncodable: Sendable {
    /// The type the server is told the parameter has.
    static var pqType: PQType { get }
    var pqBind: PQBind { get }
}

extension PQEncodable {
    /// Text-format bind from a string rendering of the value.
    @inlinable
    public func textBind(_ text: String) -> PQBind { PQBind(type: Self.pqType, bytes: Array(text.utf8)) }
}

/// SQL text whose interpolated values become `$n` parameters, never text spliced into the statement.
///
/// `"SELECT * FROM users WHERE id = \(id)"` sends `SELECT * FROM users WHERE id = $1` with `id`
/// bound. Raw SQL fragments need the explicit `unescaped:` label.
public struct SQL: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public var text: String
    public var binds: [PQBind]

    public init(_ text: String, binds: [PQBind] = []) {
        self.text = text
        self.binds = binds
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(stringInterpolation.text, binds: stringInterpolation.binds)
    }

    /// The statement text only; parameter values are never part of a description.
    public var description: String { text }

    /// Appends another fragment, renumbering its parameters.
    public mutating func append(_ other: SQL) {
        var renumbered = other.text
        if !other.binds.isEmpty {
            // Rewrite $n → $(n + offset) from the highest number down so $1 does not clobber $10.
            for n in stride(from: other.binds.count, through: 1, by: -1) {
                renumbered = renumbered.replacingOccurrences(of: "$\(n)", with: "$\(n + binds.count)")
            }
        }
        text += renumbered
        binds += other.binds
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var text = ""
        var binds: [PQBind] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) { text += literal }

        public mutating func appendInterpolation<T: PQEncodable>(_ value: T) {
            binds.append(value.pqBind)
            text += "$\(binds.count)"
        }

        public mutating func appendInterpolation<T: PQEncodable>(_ value: T?) {
            binds.append(value?.pqBind ?? .null(T.pqType))
            text += "$\(binds.count)"
        }

        /// Raw SQL text: identifiers and keywords chosen by code, never user input.
        public mutating func appendInterpolation(unescaped raw: String) { text += raw }
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            // Do not split "$1" out of "$12".
            let after = range.upperBound
            if after < rest.endIndex, rest[after].isNumber {
                result += rest[..<after]
                rest = rest[after...]
                continue
            }
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[after...]
        }
        result += rest
        return result
    }
}
