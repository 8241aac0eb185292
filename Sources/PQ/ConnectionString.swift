import Foundation
import CLibPQ

/// Checks and redacts libpq connection strings (`key=value …` or `postgresql://` URIs).
public enum ConnectionString {
    /// Throws `invalidConnectionString` with libpq's reason (password removed) when libpq cannot
    /// parse `conninfo`. An empty string is valid: libpq then uses the `PG*` variables.
    public static func validate(_ conninfo: String) throws(PQError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let options = PQconninfoParse(conninfo, &errorMessage)
        if let options {
            PQconninfoFree(options)
            return
        }
        var reason = "it cannot be parsed"
        if let errorMessage {
            reason = String(cString: errorMessage).trimmingNewlines()
            PQfreemem(errorMessage)
        }
        throw PQError(.invalidConnectionString, message: "invalid database connection string: \(redact(reason, conninfo: conninfo))")
    }

    /// The password of `conninfo`, if it names one.
    static func password(in conninfo: String) -> String? {
        if let schemeEnd = conninfo.range(of: "://") {
            let rest = conninfo[schemeEnd.upperBound...]
            if let at = rest.lastIndex(of: "@") {
                let userInfo = rest[..<at]
                if let colon = userInfo.firstIndex(of: ":") {
                    let secret = userInfo[userInfo.index(after: colon)...]
                    if !secret.isEmpty { return String(secret) }
                }
            }
            if let query = rest.range(of: "password=") {
                let value = rest[query.upperBound...].prefix { $0 != "&" }
                if !value.isEmpty { return String(value) }
            }
            return nil
        }
        guard let key = conninfo.range(of: "password") else { return nil }
        var rest = conninfo[key.upperBound...].drop { $0 == " " }
        guard rest.first == "=" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " }
        if rest.first == "'" {
            let value = rest.dropFirst().prefix { $0 != "'" }
            return value.isEmpty ? nil : String(value)
        }
        let value = rest.prefix { $0 != " " }
        return value.isEmpty ? nil : String(value)
    }

    /// `message` with any occurrence of `conninfo`'s password replaced by `***`.
    public static func redact(_ message: String, conninfo: String) -> String {
        var text = message.trimmingNewlines()
        if let secret = password(in: conninfo), !secret.isEmpty {
            text = text.replacingAll(secret, with: "***")
        }
        return text
    }
}

extension String {
    func trimmingNewlines() -> String {
        var s = self
        while let last = s.last, last.isNewline || last == " " { s.removeLast() }
        return s
    }

    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
