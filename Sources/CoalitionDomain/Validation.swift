import CoalitionModels
import Foundation

/// Field rules shared by the API and the tests. Limits are documented in the README.
public enum Limits {
    public static let slug = 2...63
    public static let organizationName = 1...200
    public static let sector = 0...100
    public static let email = 3...254
    public static let displayName = 1...100
    /// bcrypt reads at most 72 bytes; longer passwords are refused rather than silently cut.
    public static let passwordBytes = 12...72
    public static let tokenName = 1...100
    public static let tokenLifetimeDays = 1...365
    public static let projectTitle = 1...200
    public static let projectDescription = 0...10_000
    public static let milestoneTitle = 1...200
    public static let sdg = 1...17
    public static let standardTitle = 1...200
    public static let standardBody = 1...200_000
    public static let changeNote = 0...2000
    /// Organizations co-issuing one standard (each is checked with a query).
    public static let issuers = 1...10
    public static let comment = 0...2000
    public static let url = 0...2000
}

public enum Validate {
    public static func slug(_ value: String) -> String? {
        guard Limits.slug.contains(value.count) else { return "must be 2 to 63 characters" }
        let ok = value.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        return ok ? nil : "may hold only lowercase letters a-z, digits and '-'"
    }

    /// A pragmatic address check: one '@', a non-empty local part, a dotted domain, no spaces.
    public static func email(_ value: String) -> String? {
        guard Limits.email.contains(value.count) else { return "must be 3 to 254 characters" }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            !value.contains(where: { $0.isWhitespace || $0.isNewline })
        else { return "is not a valid email address" }
        return nil
    }

    /// bcrypt stops at a NUL byte, so a password holding one would be checked as its prefix
    /// (or as empty): refused.
    public static func password(_ value: String) -> String? {
        if value.utf8.contains(0) { return "must not contain the NUL character" }
        return Limits.passwordBytes.contains(value.utf8.count) ? nil : "must be 12 to 72 bytes long"
    }

    /// A key of a milestone within its project.
    public static func milestoneKey(_ value: String) -> String? {
        (1...63).contains(value.count) && value.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" })
            ? nil : "may hold only a-z, 0-9 and '-', 1 to 63 characters"
    }

    /// Free text within a length: "must be 1 to 200000 characters", "must be at most 2000 characters".
    public static func length(_ value: String, _ limits: ClosedRange<Int>) -> String? {
        if limits.contains(value.count) { return nil }
        return limits.lowerBound == 0 ? "must be at most \(limits.upperBound) characters" : "must be \(limits.lowerBound) to \(limits.upperBound) characters"
    }

    /// An http or https URL of at most 2,000 characters.
    public static func url(_ value: String) -> String? {
        (value.hasPrefix("https://") || value.hasPrefix("http://")) && Limits.url.contains(value.count)
            ? nil : "must be an http or https URL of at most \(Limits.url.upperBound) characters"
    }

    public static func text(_ value: String, _ limits: ClosedRange<Int>) -> String? {
        if value.count < limits.lowerBound { return limits.lowerBound == 1 ? "must not be empty" : "must be at least \(limits.lowerBound) characters" }
        if value.count > limits.upperBound { return "must be at most \(limits.upperBound) characters" }
        if value.unicodeScalars.contains(where: { $0.value < 32 && $0 != "\n" && $0 != "\t" || $0.value == 0 }) {
            return "must not contain control characters"
        }
        return nil
    }
}
