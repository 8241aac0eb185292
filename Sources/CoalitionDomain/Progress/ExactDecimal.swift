import Foundation

/// Decimal values as the API takes them: plain decimal text (`"12.5"`, `"-3"`, `"1.25e3"`),
/// never floating point. NaN, infinities, more than 20 significant digits and magnitudes
/// beyond 1e30 are refused with a reason.
public enum ExactDecimal {
    public static let maxSignificantDigits = 20

    public static func parse(_ text: String) -> Result<Decimal, DecimalError> {
        let t = text.trimmingCharacters(in: .whitespaces)
        let lower = t.lowercased()
        if ["nan", "+nan", "-nan", "infinity", "+infinity", "-infinity", "inf", "-inf", "+inf"].contains(lower) {
            return .failure(.notFinite)
        }
        var bytes = Array(t.utf8)[...]
        var negative = false
        if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") {
            negative = bytes.first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var intDigits: [UInt8] = []
        var fracDigits: [UInt8] = []
        var exponent = 0
        var i = bytes.startIndex
        while i < bytes.endIndex, (48...57).contains(bytes[i]) { intDigits.append(bytes[i] - 48); i += 1 }
        if i < bytes.endIndex, bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < bytes.endIndex, (48...57).contains(bytes[i]) { fracDigits.append(bytes[i] - 48); i += 1 }
        }
        guard !(intDigits.isEmpty && fracDigits.isEmpty) else { return .failure(.notANumber) }
        if i < bytes.endIndex, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            var expText = ""
            if i < bytes.endIndex, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { expText.append(Character(UnicodeScalar(bytes[i]))); i += 1 }
            let start = i
            while i < bytes.endIndex, (48...57).contains(bytes[i]) { expText.append(Character(UnicodeScalar(bytes[i]))); i += 1 }
            guard i > start, expText.count < 8, let e = Int(expText) else { return .failure(.outOfRange) }
            exponent = e
        }
        guard i == bytes.endIndex else { return .failure(.notANumber) }
        // Significant digits: all digits without leading zeros (and without trailing zeros of an integer).
        var digits = intDigits + fracDigits
        var scale = fracDigits.count - exponent
        while let first = digits.first, first == 0, digits.count > 1 { digits.removeFirst() }
        while digits.count > 1, digits.last == 0, scale > 0 { digits.removeLast(); scale -= 1 }
        let isZero = digits.allSatisfy { $0 == 0 }
        if !isZero {
            guard digits.count <= maxSignificantDigits else { return .failure(.tooManyDigits) }
            let magnitude = digits.count - scale  // digits before the decimal point
            guard magnitude <= 30, scale <= 30 else { return .failure(.outOfRange) }
        }
        var text = isZero ? "0" : digits.map { String($0) }.joined()
        if !isZero {
            if scale > 0 {
                if text.count <= scale { text = String(repeating: "0", count: scale - text.count + 1) + text }
                text.insert(".", at: text.index(text.endIndex, offsetBy: -scale))
            } else if scale < 0 {
                text += String(repeating: "0", count: -scale)
            }
        }
        guard let value = Decimal(string: (negative && !isZero ? "-" : "") + text, locale: Locale(identifier: "en_US_POSIX")) else {
            return .failure(.notANumber)
        }
        return .success(value)
    }
}

/// Why a value is not an acceptable decimal.
public enum DecimalError: Error, Sendable, Equatable, CustomStringConvertible {
    case notANumber, notFinite, tooManyDigits, outOfRange

    public var description: String {
        switch self {
        case .notANumber: "must be a decimal number such as \"12.5\""
        case .notFinite: "must be a finite number (NaN and infinities are refused)"
        case .tooManyDigits: "must have at most \(ExactDecimal.maxSignificantDigits) significant digits"
        case .outOfRange: "is out of range (at most 30 digits before and 30 after the decimal point)"
        }
    }
}
