import CoalitionModels
import Foundation

/// The PACT v3 `ProductFootprint` (OpenAPI 3.0.4, components/schemas: ProductFootprint,
/// CarbonFootprint, DataModelExtension, ProductOrSectorSpecificRule, EmissionFactorSource,
/// DataQualityIndicators, Verification, Urn) as rules over a parsed document.
///
/// As the spec says, a member set to `null` is undefined: it counts as absent. Decimals are
/// strings matching `^[+-]?\d+(\.\d+)?$` (no exponent, so that every stored value passes the
/// strictest reading of the schema). Unknown properties are refused in every PACT object; an
/// extension's `data` is free-form. Hostile input is bounded: arrays hold at most `maxItems`
/// items (`extensions` at most `maxExtensions`), strings at most `maxTextLength` characters
/// (decimals `maxDecimalLength`), no string holds U+0000 (PostgreSQL cannot store it), and at
/// most `maxProblems` problems are listed. The walk of free-form extension data uses a stack;
/// nothing else goes deeper than the schema (or, comparing array items, than the document,
/// which `JSONValue.parse` bounds at 64 levels).
public enum FootprintRules {
    /// Fields the server sets; a member's draft must not carry them. (`version`, `updated` and
    /// `statusComment` are obsolete in v3, so they are refused as unknown properties.)
    public static let serverFields: Set<String> = ["id", "specVersion", "created", "status"]
    public static let maxItems = 100
    public static let maxExtensions = 20
    public static let maxTextLength = 10_000
    public static let maxDecimalLength = 64
    public static let maxProblems = 100

    public static let declaredUnits = [
        "liter", "kilogram", "cubic meter", "kilowatt hour", "megajoule", "ton kilometer", "square meter", "piece", "hour",
        "megabit second",
    ]
    /// UN M49 regions and sub-regions, as the schema lists them; a sub-region's region beside it.
    static let regionOfSubregion: [String: String] = [
        "Australia and New Zealand": "Oceania", "Melanesia": "Oceania", "Micronesia": "Oceania", "Polynesia": "Oceania",
        "Central Asia": "Asia", "Eastern Asia": "Asia", "South-eastern Asia": "Asia", "Southern Asia": "Asia", "Western Asia": "Asia",
        "Eastern Europe": "Europe", "Northern Europe": "Europe", "Southern Europe": "Europe", "Western Europe": "Europe",
        "Latin America and the Caribbean": "Americas", "Northern America": "Americas",
        "Northern Africa": "Africa", "Sub-Saharan Africa": "Africa",
    ]
    /// The schema's order: the five regions, then the sub-regions alphabetically.
    public static let regions = ["Africa", "Americas", "Asia", "Europe", "Oceania"] + regionOfSubregion.keys.sorted()

    /// Validates a member's draft: the whole ProductFootprint schema except the server fields,
    /// which must be absent. Returns every problem, fields named as JSON paths ("productIds[1]",
    /// "pcf.dqi.temporalDQR"; "$" for the document itself).
    public static func validateDraft(_ document: JSONValue) -> [Problem.FieldError] { validate(document, draft: true) }

    /// Validates a complete document, server fields included, against the full schema.
    public static func validateComplete(_ document: JSONValue) -> [Problem.FieldError] { validate(document, draft: false) }

    static func validate(_ document: JSONValue, draft: Bool) -> [Problem.FieldError] {
        var checker = FootprintChecker(draft: draft)
        checker.footprint(document)
        return checker.errors
    }

    /// What the ListFootprints filters match on, read from a valid document (values as written;
    /// the filters compare them case-insensitively). An invalid document gives empty lists and a
    /// validity period at `Date.distantPast`, which no validOn filter matches.
    public static func facets(of document: JSONValue) -> FootprintFacets {
        func strings(_ value: JSONValue?) -> [String] {
            guard case .array(let items)? = value else { return [] }
            return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
        }
        func date(_ value: JSONValue?) -> Date? {
            if case .string(let s)? = value { timestamp(s) } else { nil }
        }
        let pcf = document["pcf"]
        var geographies: [String] = []
        if case .string(let region)? = pcf?["geographyRegionOrSubregion"] {
            geographies = [region] + (regionOfSubregion[region].map { [$0] } ?? [])
        } else if case .string(let country)? = pcf?["geographyCountry"] {
            geographies = [country]
        } else if case .string(let subdivision)? = pcf?["geographyCountrySubdivision"] {
            geographies = [subdivision, String(subdivision.prefix(2))]
        }
        let referenceEnd = date(pcf?["referencePeriodEnd"])
        let start = date(document["validityPeriodStart"]) ?? referenceEnd ?? .distantPast
        let end = date(document["validityPeriodEnd"]) ?? referenceEnd.map(threeYears(after:)) ?? .distantPast
        return FootprintFacets(
            productIds: strings(document["productIds"]), companyIds: strings(document["companyIds"]),
            classifications: strings(document["productClassifications"]), geographies: geographies,
            validityStart: start, validityEnd: end)
    }

    /// An RFC 3339 date-time ("2025-01-01T00:00:00Z", "2025-01-01T01:00:00.5+01:00"; `T` and `Z`
    /// in either case), or nil. Real calendar dates only; leap seconds (":60") are refused.
    public static func timestamp(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard (20...64).contains(b.count) else { return nil }
        func number(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= b.count else { return nil }
            var value = 0
            for i in at..<(at + count) {
                guard isDigit(b[i]) else { return nil }
                value = value * 10 + Int(b[i] - 48)
            }
            return value
        }
        guard let year = number(0, 4), b[4] == UInt8(ascii: "-"), let month = number(5, 2), b[7] == UInt8(ascii: "-"),
            let day = number(8, 2), b[10] | 0x20 == UInt8(ascii: "t"), let hour = number(11, 2), b[13] == UInt8(ascii: ":"),
            let minute = number(14, 2), b[16] == UInt8(ascii: ":"), let second = number(17, 2),
            (1...12).contains(month), day >= 1, day <= daysIn(month, of: year), hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var fraction = 0.0
        if b[i] == UInt8(ascii: ".") {
            let start = i + 1
            i = start
            while i < b.count, isDigit(b[i]) { i += 1 }
            guard i > start else { return nil }
            fraction = Double("0." + String(decoding: b[start..<min(i, start + 9)], as: UTF8.self)) ?? 0
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] | 0x20 == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard let h = number(i + 1, 2), i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"), let m = number(i + 4, 2), h < 24, m < 60
            else { return nil }
            offset = (h * 60 + m) * 60 * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let days = era * 146_097 + yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear - 719_468
        return Date(timeIntervalSince1970: Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset) + fraction)
    }

    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar
    }()

    /// `date` + 3 years on the UTC calendar (29 February gives 28 February).
    public static func threeYears(after date: Date) -> Date {
        utc.date(byAdding: .year, value: 3, to: date) ?? date.addingTimeInterval(3 * 365.25 * 86_400)
    }

    static func daysIn(_ month: Int, of year: Int) -> Int {
        if month == 2 { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28 }
        return [4, 6, 9, 11].contains(month) ? 30 : 31
    }

    // MARK: Formats, on ASCII bytes (the schema's `\d` is ASCII).

    static func isDigit(_ c: UInt8) -> Bool { (48...57).contains(c) }
    static func isAlphanumeric(_ c: UInt8) -> Bool { isDigit(c) || (97...122).contains(c | 0x20) }
    static func isHex(_ c: UInt8) -> Bool { isDigit(c) || (97...102).contains(c | 0x20) }
    static func digits(_ s: some Collection<UInt8>) -> Bool { !s.isEmpty && s.allSatisfy(isDigit) }
    static func capitals(_ s: some Collection<UInt8>) -> Bool { s.allSatisfy { (65...90).contains($0) } }

    static let posix = Locale(identifier: "en_US_POSIX")

    /// `^[+-]?\d+(\.\d+)?$`, as a Decimal.
    static func decimal(_ text: String) -> Decimal? {
        var body = Substring(text)
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        let parts = body.utf8.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.allSatisfy(digits) else { return nil }
        return Decimal(string: text.first == "+" ? String(text.dropFirst()) : text, locale: posix)
    }

    static func isUUID(_ s: String) -> Bool {
        let b = Array(s.utf8)
        return b.count == 36 && b.indices.allSatisfy { [8, 13, 18, 23].contains($0) ? b[$0] == UInt8(ascii: "-") : isHex(b[$0]) }
    }

    /// `^\d+\.\d+\.\d+(-\d{8})?$` (the footprint's specVersion).
    static func isSpecVersion(_ s: String) -> Bool {
        let parts = s.utf8.split(separator: UInt8(ascii: "-"), maxSplits: 1, omittingEmptySubsequences: false)
        let core = parts[0].split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return core.count == 3 && core.allSatisfy(digits) && parts.dropFirst().allSatisfy { $0.count == 8 && digits($0) }
    }

    /// Semantic Versioning 2.0.0's major.minor.patch, with an optional pre-release and build.
    static func isSemanticVersion(_ s: String) -> Bool {
        let build = s.utf8.split(separator: UInt8(ascii: "+"), maxSplits: 1, omittingEmptySubsequences: false)
        let release = build[0].split(separator: UInt8(ascii: "-"), maxSplits: 1, omittingEmptySubsequences: false)
        let core = release[0].split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        let label = { (t: Substring.UTF8View.SubSequence) in
            !t.isEmpty && t.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
        }
        return core.count == 3 && core.allSatisfy(digits) && release.dropFirst().allSatisfy(label) && build.dropFirst().allSatisfy(label)
    }

    /// RFC 3986 characters: unreserved, sub-delims, `extra`, and %-escapes of two hex digits.
    static func isWellFormed(_ b: ArraySlice<UInt8>, extra: String) -> Bool {
        var i = b.startIndex
        while i < b.endIndex {
            let c = b[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < b.endIndex, isHex(b[i + 1]), isHex(b[i + 2]) else { return false }
                i += 3
                continue
            }
            guard isAlphanumeric(c) || "-._~!$&'()*+,;=".utf8.contains(c) || extra.utf8.contains(c) else { return false }
            i += 1
        }
        return true
    }

    /// An RFC 8141 URN: the Urn schema's `^([uU][rR][nN]):`, a namespace identifier of 2 to 32
    /// letters, digits and inner hyphens, and a non-empty namespace-specific string.
    public static func isURN(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count > 4, b[0] | 0x20 == UInt8(ascii: "u"), b[1] | 0x20 == UInt8(ascii: "r"), b[2] | 0x20 == UInt8(ascii: "n"),
            b[3] == UInt8(ascii: ":"), let colon = b[4...].firstIndex(of: UInt8(ascii: ":"))
        else { return false }
        let nid = b[4..<colon]
        guard (2...32).contains(nid.count), let first = nid.first, let last = nid.last, isAlphanumeric(first), isAlphanumeric(last),
            nid.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") })
        else { return false }
        let nss = b[(colon + 1)...]
        return !nss.isEmpty && nss.first != UInt8(ascii: "/") && isWellFormed(nss, extra: ":@/?#")
    }

    /// An absolute RFC 3986 URI: a scheme, ':', then URI characters.
    static func isURI(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard let colon = b.firstIndex(of: UInt8(ascii: ":")), colon > 0, !isDigit(b[0]), isAlphanumeric(b[0]),
            b[..<colon].allSatisfy({ isAlphanumeric($0) || "+-.".utf8.contains($0) })
        else { return false }
        return isWellFormed(b[(colon + 1)...], extra: ":@/?#[]")
    }
}

/// What the PACT ListFootprints filters match on.
public struct FootprintFacets: Sendable, Equatable {
    public var productIds: [String]
    public var companyIds: [String]
    /// `productClassifications`.
    public var classifications: [String]
    /// The `geography` filter "will return all footprints within the specified geography(s)": the
    /// one geography set, with what contains it that the value itself names: a sub-region's
    /// region ("Western Europe" → + "Europe"), a subdivision's country ("DE-BW" → + "DE"). A
    /// country's region would need the M49 country table and is not derived. A global footprint
    /// (no geography) is within no specific geography: [].
    public var geographies: [String]
    /// The validity period (#validity-period): validityPeriodStart (inclusive) and
    /// validityPeriodEnd (exclusive) when given; otherwise "valid for 3 years starting with
    /// referencePeriodEnd": start = pcf.referencePeriodEnd, end = pcf.referencePeriodEnd + 3 years.
    public var validityStart: Date
    public var validityEnd: Date

    public init(productIds: [String], companyIds: [String], classifications: [String], geographies: [String], validityStart: Date, validityEnd: Date) {
        self.productIds = productIds
        self.companyIds = companyIds
        self.classifications = classifications
        self.geographies = geographies
        self.validityStart = validityStart
        self.validityEnd = validityEnd
    }
}

/// Signs and ranges of the schema's decimals (its `x-comment`s and descriptions).
enum DecimalRule {
    case any, positive, nonNegative, nonPositive, percent, rating

    func problem(_ v: Decimal) -> String? {
        switch self {
        case .any: nil
        case .positive: v > 0 ? nil : "must be greater than 0"
        case .nonNegative: v >= 0 ? nil : "must be 0 or more"
        case .nonPositive: v <= 0 ? nil : "must be 0 or less"
        case .percent: v >= 0 && v <= 100 ? nil : "must be from 0 to 100"
        case .rating: v >= 1 && v <= 5 ? nil : "must be from 1 to 5"
        }
    }
}

struct FootprintChecker {
    let draft: Bool
    var errors: [Problem.FieldError] = []

    static let footprintKeys = FootprintRules.serverFields.union([
        "precedingPfIds", "validityPeriodStart", "validityPeriodEnd", "companyName", "companyIds", "productDescription", "productIds",
        "productClassifications", "productNameCompany", "comment", "pcf", "extensions",
    ])
    static let pcfRequired = [
        "declaredUnitOfMeasurement", "declaredUnitAmount", "productMassPerDeclaredUnit", "referencePeriodStart", "referencePeriodEnd",
        "pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake", "fossilGhgEmissions", "fossilCarbonContent",
        "ipccCharacterizationFactors", "crossSectoralStandards", "exemptedEmissionsPercent",
    ]
    static let pcfDecimals: [(String, DecimalRule)] = [
        ("declaredUnitAmount", .positive), ("productMassPerDeclaredUnit", .nonNegative), ("pcfExcludingBiogenicUptake", .any),
        ("pcfIncludingBiogenicUptake", .any), ("fossilCarbonContent", .nonNegative), ("biogenicCarbonContent", .nonNegative),
        ("recycledCarbonContent", .nonNegative), ("fossilGhgEmissions", .nonNegative), ("landUseChangeGhgEmissions", .nonNegative),
        ("landCarbonLeakage", .nonNegative), ("landManagementFossilGhgEmissions", .nonNegative),
        ("landManagementBiogenicCO2Emissions", .nonNegative), ("landManagementBiogenicCO2Removals", .nonPositive),
        ("biogenicCO2Uptake", .nonPositive), ("biogenicNonCO2Emissions", .nonNegative), ("landAreaOccupation", .nonNegative),
        ("aircraftGhgEmissions", .nonNegative), ("packagingGhgEmissions", .nonNegative), ("packagingBiogenicCarbonContent", .nonNegative),
        ("outboundLogisticsGhgEmissions", .nonNegative), ("ccsTechnologicalCO2Capture", .nonPositive),
        ("technologicalCO2Removals", .nonPositive), ("ccuCarbonContent", .nonNegative), ("exemptedEmissionsPercent", .percent),
        ("primaryDataShare", .percent),
    ]
    static let pcfTexts = ["boundaryProcessesDescription", "technologicalCO2CaptureOrigin", "exemptedEmissionsDescription", "allocationRulesDescription"]
    static let geographyKeys = ["geographyRegionOrSubregion", "geographyCountry", "geographyCountrySubdivision"]
    static let pcfKeys = Set(pcfRequired + pcfDecimals.map(\.0) + pcfTexts + geographyKeys).union([
        "packagingEmissionsIncluded", "ccsTechnologicalCO2CaptureIncluded", "ccuCalculationApproach", "ccuCreditCertification",
        "productOrSectorSpecificRules", "secondaryEmissionFactorSources", "dqi", "verification",
    ])
    static let dqiKeys = ["technologicalDQR", "geographicalDQR", "temporalDQR"]
    static let decimalMessage = "must be a decimal string such as \"1.25\""
    static let timestampMessage = "must be an RFC 3339 date-time such as \"2025-01-01T00:00:00Z\""
    static let urnMessage = "must be a URN such as \"urn:gtin:4712345060507\""
    static let uuidMessage = "must be a UUID such as \"f4b1225a-bd44-4c8e-861d-079e4e1dfd69\""
    static let uriMessage = "must be an absolute URI such as \"https://example.com/schema.json\""

    mutating func fail(_ field: String, _ message: String) {
        let limit = FootprintRules.maxProblems
        if errors.count < limit {
            errors.append(.init(field: field, message: message))
        } else if errors.count == limit {
            errors.append(.init(field: "$", message: "has more problems; only the first \(limit) are listed"))
        }
    }

    /// `parent.key`; a key over 100 characters (only an unknown one can be) is shortened.
    func path(_ parent: String, _ key: String) -> String {
        let shown = key.count > 100 ? String(key.prefix(100)) + "…" : key
        return parent.isEmpty ? shown : parent + "." + shown
    }

    /// The defined members of an object, after reporting unknown and missing ones.
    mutating func object(_ value: JSONValue, _ field: String, known: Set<String>, required: [String]) -> [String: JSONValue]? {
        guard case .object(let all) = value else { fail(field.isEmpty ? "$" : field, "must be an object"); return nil }
        let members = all.filter { $0.value != .null }
        for key in members.keys.sorted() where !known.contains(key) { fail(path(field, key), "is not a PACT v3 property") }
        for key in required where members[key] == nil { fail(path(field, key), "is required") }
        return members
    }

    mutating func text(_ value: JSONValue, _ field: String, nonEmpty: Bool = false) -> String? {
        guard case .string(let s) = value else { fail(field, "must be a string"); return nil }
        let limit = FootprintRules.maxTextLength
        if s.utf8.contains(0) { fail(field, "must not contain the NUL character") }
        else if nonEmpty, s.isEmpty { fail(field, "must not be empty") }
        else if s.utf8.count > limit, s.count > limit { fail(field, "must be at most \(limit) characters") }
        else { return s }
        return nil
    }

    @discardableResult
    mutating func string(_ o: [String: JSONValue], _ key: String, _ at: String, nonEmpty: Bool = false) -> String? {
        guard let value = o[key] else { return nil }
        return text(value, path(at, key), nonEmpty: nonEmpty)
    }

    /// A string that must satisfy `valid`, else `message`.
    @discardableResult
    mutating func string(_ o: [String: JSONValue], _ key: String, _ at: String, _ message: String, _ valid: (String) -> Bool) -> String? {
        guard let s = string(o, key, at) else { return nil }
        guard valid(s) else { fail(path(at, key), message); return nil }
        return s
    }

    @discardableResult
    mutating func choice(_ o: [String: JSONValue], _ key: String, _ at: String, _ allowed: [String]) -> String? {
        string(o, key, at, "must be one of \(allowed.joined(separator: ", "))") { allowed.contains($0) }
    }

    mutating func timestamp(_ o: [String: JSONValue], _ key: String, _ at: String) -> Date? {
        var date: Date?
        string(o, key, at, Self.timestampMessage) { date = FootprintRules.timestamp($0); return date != nil }
        return date
    }

    mutating func decimal(_ o: [String: JSONValue], _ key: String, _ at: String, _ rule: DecimalRule) {
        guard let value = o[key] else { return }
        let field = path(at, key)
        guard case .string(let s) = value else { return fail(field, Self.decimalMessage) }
        let limit = FootprintRules.maxDecimalLength
        guard s.utf8.count <= limit else { return fail(field, "must be at most \(limit) characters") }
        guard let number = FootprintRules.decimal(s) else { return fail(field, Self.decimalMessage) }
        if let problem = rule.problem(number) { fail(field, problem) }
    }

    mutating func boolean(_ o: [String: JSONValue], _ key: String, _ at: String) {
        guard let value = o[key] else { return }
        if case .bool = value { return }
        fail(path(at, key), "must be true or false")
    }

    /// The items of a non-empty array with their paths; repeated items are reported and left out.
    mutating func items(_ o: [String: JSONValue], _ key: String, _ at: String, max: Int = FootprintRules.maxItems, unique: Bool = true) -> [(String, JSONValue)] {
        guard let value = o[key] else { return [] }
        let field = path(at, key)
        guard case .array(let all) = value else { fail(field, "must be an array"); return [] }
        guard !all.isEmpty else { fail(field, "must not be empty"); return [] }
        guard all.count <= max else { fail(field, "must have at most \(max) items"); return [] }
        var seen = Set<String>()
        var result: [(String, JSONValue)] = []
        for (i, item) in all.enumerated() {
            let itemField = "\(field)[\(i)]"
            if unique, !seen.insert(item.canonicalText).inserted { fail(itemField, "repeats an earlier item") } else { result.append((itemField, item)) }
        }
        return result
    }

    /// Each item a string satisfying `valid`, else `message`.
    @discardableResult
    mutating func strings(_ o: [String: JSONValue], _ key: String, _ at: String, _ message: String = "", _ valid: (String) -> Bool = { _ in true }) -> [String] {
        var result: [String] = []
        for (field, item) in items(o, key, at) {
            guard let s = text(item, field) else { continue }
            if valid(s) { result.append(s) } else { fail(field, message) }
        }
        return result
    }

    mutating func footprint(_ document: JSONValue) {
        let required = ["companyName", "companyIds", "productDescription", "productIds", "productNameCompany", "pcf"]
        guard let o = object(document, "", known: Self.footprintKeys, required: (draft ? [] : FootprintRules.serverFields.sorted()) + required) else { return }
        var id: String?
        if draft {
            for key in FootprintRules.serverFields.sorted() where o[key] != nil { fail(key, "is set by the server") }
        } else {
            id = string(o, "id", "", Self.uuidMessage, FootprintRules.isUUID)
            string(o, "specVersion", "", "must be a version such as \"3.0.0\"", FootprintRules.isSpecVersion)
            _ = timestamp(o, "created", "")
            choice(o, "status", "", ["Active", "Deprecated"])
        }
        for preceding in strings(o, "precedingPfIds", "", Self.uuidMessage, FootprintRules.isUUID) where preceding.lowercased() == id?.lowercased() {
            fail("precedingPfIds", "must not hold the footprint's own id")
        }
        string(o, "companyName", "", nonEmpty: true)
        strings(o, "companyIds", "", Self.urnMessage, FootprintRules.isURN)
        string(o, "productDescription", "")
        strings(o, "productIds", "", Self.urnMessage, FootprintRules.isURN)
        strings(o, "productClassifications", "", Self.urnMessage, FootprintRules.isURN)
        string(o, "productNameCompany", "", nonEmpty: true)
        string(o, "comment", "")
        let start = timestamp(o, "validityPeriodStart", ""), end = timestamp(o, "validityPeriodEnd", "")
        var referenceEnd: Date?
        if let pcf = o["pcf"] { referenceEnd = carbonFootprint(pcf, "pcf") }
        validity(start: start, end: end, referenceEnd: referenceEnd)
        for (field, item) in items(o, "extensions", "", max: FootprintRules.maxExtensions, unique: false) { extensionObject(item, field) }
    }

    /// #validity-period: start ≥ referencePeriodEnd, end ≤ referencePeriodEnd + 3 years, end > start.
    mutating func validity(start: Date?, end: Date?, referenceEnd: Date?) {
        if let referenceEnd {
            if let start, start < referenceEnd { fail("validityPeriodStart", "must not be before pcf.referencePeriodEnd") }
            if let end, end > FootprintRules.threeYears(after: referenceEnd) {
                fail("validityPeriodEnd", "must not be later than 3 years after pcf.referencePeriodEnd")
            }
        }
        guard let from = start ?? referenceEnd, let to = end ?? referenceEnd.map(FootprintRules.threeYears(after:)), to <= from else { return }
        if end != nil {
            fail("validityPeriodEnd", "must be after \(start != nil ? "validityPeriodStart" : "pcf.referencePeriodEnd")")
        } else {
            fail("validityPeriodStart", "must be before the default end of the validity period, 3 years after pcf.referencePeriodEnd")
        }
    }

    /// Checks `pcf`; returns its referencePeriodEnd when valid.
    mutating func carbonFootprint(_ value: JSONValue, _ at: String) -> Date? {
        guard let o = object(value, at, known: Self.pcfKeys, required: Self.pcfRequired) else { return nil }
        choice(o, "declaredUnitOfMeasurement", at, FootprintRules.declaredUnits)
        for (key, rule) in Self.pcfDecimals { decimal(o, key, at, rule) }
        for key in Self.pcfTexts { string(o, key, at) }
        boolean(o, "packagingEmissionsIncluded", at)
        boolean(o, "ccsTechnologicalCO2CaptureIncluded", at)
        let start = timestamp(o, "referencePeriodStart", at), end = timestamp(o, "referencePeriodEnd", at)
        if let start, let end, end <= start { fail(path(at, "referencePeriodEnd"), "must be after pcf.referencePeriodStart") }

        choice(o, "geographyRegionOrSubregion", at, FootprintRules.regions)
        string(o, "geographyCountry", at, "must be an ISO 3166-1 alpha-2 code in capitals such as \"DE\"") {
            $0.utf8.count == 2 && FootprintRules.capitals($0.utf8)
        }
        string(o, "geographyCountrySubdivision", at, "must be an ISO 3166-2 code such as \"US-CA\"") {
            let b = Array($0.utf8)
            return (4...6).contains(b.count) && FootprintRules.capitals(b[0..<2]) && b[2] == UInt8(ascii: "-")
                && b[3...].allSatisfy { FootprintRules.isDigit($0) || (65...90).contains($0) }
        }
        let geographies = Self.geographyKeys.filter { o[$0] != nil }
        for extra in geographies.dropFirst() {
            fail(path(at, extra), "must not be set with \(geographies[0]): give one geography, or none for a global footprint")
        }

        if o["packagingEmissionsIncluded"] == .bool(false), o["packagingGhgEmissions"] != nil {
            fail(path(at, "packagingGhgEmissions"), "must be absent when packagingEmissionsIncluded is false")
        }
        if o["ccsTechnologicalCO2CaptureIncluded"] == .bool(false) {
            for key in ["ccsTechnologicalCO2Capture", "technologicalCO2Removals", "technologicalCO2CaptureOrigin"] where o[key] != nil {
                fail(path(at, key), "must be absent when ccsTechnologicalCO2CaptureIncluded is false")
            }
        }
        choice(o, "ccuCalculationApproach", at, ["Cut-off", "Credit"])
        string(o, "ccuCreditCertification", at, Self.uriMessage, FootprintRules.isURI)
        strings(o, "ipccCharacterizationFactors", at, "must be AR and a report number, such as \"AR6\"") {
            $0.hasPrefix("AR") && FootprintRules.digits($0.utf8.dropFirst(2))
        }
        // "A host system MUST accept ... values that are not defined in this specification."
        strings(o, "crossSectoralStandards", at)
        for (field, item) in items(o, "productOrSectorSpecificRules", at) {
            guard let rule = object(item, field, known: ["operator", "ruleNames", "otherOperatorName"], required: ["operator", "ruleNames"]) else { continue }
            let operatorName = choice(rule, "operator", field, ["PEF", "EPD International", "Other"])
            strings(rule, "ruleNames", field, "must not be empty") { !$0.isEmpty }
            string(rule, "otherOperatorName", field, nonEmpty: true)
            if operatorName == "Other", rule["otherOperatorName"] == nil { fail(path(field, "otherOperatorName"), "is required when operator is Other") }
        }
        for (field, item) in items(o, "secondaryEmissionFactorSources", at, unique: false) {
            guard let source = object(item, field, known: ["name", "version"], required: ["name", "version"]) else { continue }
            string(source, "name", field, nonEmpty: true)
            string(source, "version", field, nonEmpty: true)
        }
        if let value = o["dqi"], let dqi = object(value, path(at, "dqi"), known: Set(Self.dqiKeys), required: Self.dqiKeys) {
            for key in Self.dqiKeys { decimal(dqi, key, path(at, "dqi"), .rating) }
        }
        if let value = o["verification"] {
            let field = path(at, "verification")
            if let v = object(value, field, known: ["coverage", "providerName", "completedAt", "standardName", "comments"], required: []) {
                choice(v, "coverage", field, ["PCF calculation model", "PCF program", "product level"])
                string(v, "providerName", field, nonEmpty: true)
                _ = timestamp(v, "completedAt", field)
                string(v, "standardName", field)
                string(v, "comments", field)
            }
        }
        return end
    }

    mutating func extensionObject(_ value: JSONValue, _ field: String) {
        guard let e = object(value, field, known: ["specVersion", "dataSchema", "documentation", "data"], required: ["specVersion", "dataSchema", "data"])
        else { return }
        string(e, "specVersion", field, "must be a semantic version such as \"2.0.0\"", FootprintRules.isSemanticVersion)
        string(e, "dataSchema", field, Self.uriMessage, FootprintRules.isURI)
        string(e, "documentation", field, Self.uriMessage, FootprintRules.isURI)
        guard let data = e["data"] else { return }
        guard case .object = data else { return fail(path(field, "data"), "must be an object") }
        // Free-form, walked with a stack (no recursion) only for U+0000, which PostgreSQL refuses.
        var stack = [data]
        while let next = stack.popLast() {
            switch next {
            case .string(let s) where s.utf8.contains(0): return fail(path(field, "data"), "must not contain the NUL character")
            case .array(let a): stack.append(contentsOf: a)
            case .object(let o):
                if o.keys.contains(where: { $0.utf8.contains(0) }) { return fail(path(field, "data"), "must not contain the NUL character") }
                stack.append(contentsOf: o.values)
            default: break
            }
        }
    }
}
