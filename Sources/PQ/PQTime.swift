import Foundation

/// A calendar date without time zone, as PostgreSQL's `date` (ISO 8601 `YYYY-MM-DD`).
public struct PQDate: PQEncodable, PQDecodable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...daysInMonth(year: year, month: month)).contains(day)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses exactly `YYYY-MM-DD`.
    public init?(iso text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let y = parseDigits(bytes[0..<4]), let m = parseDigits(bytes[5..<7]), let d = parseDigits(bytes[8..<10])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Days since 1970-01-01.
    public var daysSinceEpoch: Int { daysFromCivil(year: year, month: month, day: day) }

    public init(daysSinceEpoch days: Int) {
        let (y, m, d) = civilFromDays(days)
        self.year = y
        self.month = m
        self.day = d
    }

    public var description: String {
        pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
    }

    public static func < (lhs: PQDate, rhs: PQDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public static var pqType: PQType { .date }
    public var pqBind: PQBind { textBind(description) }
    public static var acceptedTypes: Set<PQType> { [.date] }
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> PQDate? {
        PQDate(iso: String(decoding: pqText, as: UTF8.self))
    }
}

extension Date: PQEncodable, PQDecodable {
    public static var pqType: PQType { .timestamptz }

    /// Microsecond precision in UTC, the resolution of `timestamptz`.
    public var pqBind: PQBind {
        let micros = (timeIntervalSince1970 * 1_000_000).rounded()
        var seconds = Int((micros / 1_000_000).rounded(.down))
        let fraction = Int(micros - Double(seconds) * 1_000_000)
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        seconds -= days * 86_400
        let (y, m, d) = civilFromDays(days)
        let text = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + " " + pad(seconds / 3600, 2) + ":"
            + pad(seconds % 3600 / 60, 2) + ":" + pad(seconds % 60, 2) + "." + pad(fraction, 6) + "+00"
        return textBind(text)
    }

    public static var acceptedTypes: Set<PQType> { [.timestamptz, .timestamp] }

    /// Reads `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]` (the ISO DateStyle the pool sets).
    public static func decode(pqText: ArraySlice<UInt8>, type: PQType) -> Date? {
        let b = Array(pqText)
        guard b.count >= 19, b[10] == UInt8(ascii: " "), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            let date = PQDate(iso: String(decoding: b[0..<10], as: UTF8.self)),
            let hh = parseDigits(b[11..<13]), let mi = parseDigits(b[14..<16]), let ss = parseDigits(b[17..<19])
        else { return nil }
        var i = 19
        var micros = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(b[i] - 48) }
                digits += 1
                i += 1
            }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        var offsetSeconds = 0
        if i < b.count {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") else { return nil }
            let parts = String(decoding: b[(i + 1)...], as: UTF8.self).split(separator: ":")
            guard let first = parts.first, let h = Int(first) else { return nil }
            offsetSeconds = h * 3600
            if parts.count > 1, let m = Int(parts[1]) { offsetSeconds += m * 60 }
            if parts.count > 2, let s = Int(parts[2]) { offsetSeconds += s }
            offsetSeconds *= sign
        }
        let seconds = date.daysSinceEpoch * 86_400 + hh * 3600 + mi * 60 + ss - offsetSeconds
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }
}

// MARK: - calendar arithmetic (proleptic Gregorian, H. Hinnant's algorithms)

func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

func civilFromDays(_ days: Int) -> (Int, Int, Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
}

func daysInMonth(year: Int, month: Int) -> Int {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
}

func parseDigits<C: Collection>(_ bytes: C) -> Int? where C.Element == UInt8 {
    var value = 0
    for c in bytes {
        guard c >= 48, c <= 57 else { return nil }
        value = value * 10 + Int(c - 48)
    }
    return bytes.isEmpty ? nil : value
}

func pad(_ value: Int, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
