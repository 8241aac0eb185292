import Foundation

/// Decimal values as the API takes them: plain decimal text (`"12.5"`, `"-3"`, `"1.25e3"`),
/// never floating point. Text longer than 64 characters, NaN, infinities, more than 20
/// significant digits and magnitudes beyond 1e30 are refused with a reason. The length is
/// checked before anything else, and the parse is one pass, so a hostile value costs nothing.
public enum ExactDecimal {
    public static let maxSignificantDigits = 20
    /// Longer text is refused unread: no valid value needs more (20 digits, a sign, a point,
    /// an exponent, and room for leading or trailing zeros and spaces).
    public static let maxTextLength = 64
    static let posix = Locale(identifier: "en_US_POSIX")

    public static func parse(_ text: String) -> Result<Decimal, DecimalError> {
        guard text.utf8.count <= maxTextLength else { return .failure(.tooLong) }
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.utf8.contains(where: { $0 >= UInt8(ascii: "A") }),
           ["nan", "+nan", "-nan", "infinity", "+infinity", "-infinity", "inf", "-inf", "+inf"].contains(t.lowercased()) {
            return .failure(.notFinite)
        }
        let bytes = Array(t.utf8)
        var i = 0
        var negative = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var digits: [UInt8] = []
        var fractionDigits = 0
        while i < bytes.count, (48...57).contains(bytes[i]) { digits.append(bytes[i] - 48); i += 1 }
        let integerDigits = digits.count
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < bytes.count, (48...57).contains(bytes[i]) { digits.append(bytes[i] - 48); fractionDigits += 1; i += 1 }
        }
        guard integerDigits + fractionDigits > 0 else { return .failure(.notANumber) }
        var exponent = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                expNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            let start = i
            while i < bytes.count, (48...57).contains(bytes[i]), i - start < 8 { exponent = exponent * 10 + Int(bytes[i] - 48); i += 1 }
            guard i > start, i == bytes.count || !(48...57).contains(bytes[i]) else { return .failure(.outOfRange) }
            if expNegative { exponent = -exponent }
        }
        guard i == bytes.count else { return .failure(.notANumber) }
        // Significant digits: without leading zeros, and without the trailing zeros of the
        // fraction (an integer's trailing zeros stay: they are its magnitude).
        var scale = fractionDigits - exponent
        var first = 0
        while first < digits.count - 1, digits[first] == 0 { first += 1 }
        var last = digits.count
        while last - first > 1, digits[last - 1] == 0, scale > 0 { last -= 1; scale -= 1 }
        let significant = digits[first..<last]
        let isZero = significant.allSatisfy { $0 == 0 }
        if !isZero {
            guard significant.count <= maxSignificantDigits else { return .failure(.tooManyDigits) }
            let magnitude = significant.count - scale  // digits before the decimal point
            guard magnitude <= 30, scale <= 30 else { return .failure(.outOfRange) }
        }
        var text = isZero ? "0" : String(decoding: significant.map { $0 + 48 }, as: UTF8.self)
        if !isZero {
            if scale > 0 {
                if text.count <= scale { text = String(repeating: "0", count: scale - text.count + 1) + text }
                text.insert(".", at: text.index(text.endIndex, offsetBy: -scale))
            } else if scale < 0 {
                text += String(repeating: "0", count: -scale)
            }
        }
        guard let value = Decimal(string: (negative && !isZero ? "-" : "") + text, locale: posix) else {
            return .failure(.notANumber)
        }
        return .success(value)
    }
}

/// Why a value is not an acceptable decimal.
public enum DecimalError: Error, Sendable, Equatable, CustomStringConvertible {
    case notANumber, notFinite, tooManyDigits, outOfRange, tooLong

    public var description: String {
        switch self {
        case .notANumber: "must be a decimal number such as \"12.5\""
        case .notFinite: "must be a finite number (NaN and infinities are refused)"
        case .tooManyDigits: "must have at most \(ExactDecimal.maxSignificantDigits) significant digits"
        case .outOfRange: "is out of range (at most 30 digits before and 30 after the decimal point)"
        case .tooLong: "must be at most \(ExactDecimal.maxTextLength) characters"
        }
    }
}
