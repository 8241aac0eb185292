import Crypto
import Foundation

/// The format of API tokens and session tokens: `clc_<key id>_<secret>`.
///
/// The key id (12 characters, 60 random bits) finds the row without scanning; the secret
/// (256 random bits, base64url) is stored only as its SHA-256 and compared in constant time.
/// `clc_<key id>` is the prefix shown in listings.
public struct TokenSecret: Sendable, Equatable {
    public var keyID: String
    public var secret: String

    public var token: String { "clc_\(keyID)_\(secret)" }
    public var prefix: String { "clc_\(keyID)" }

    static let keyAlphabet = Array("abcdefghijkmnopqrstuvwxyz23456789")

    /// A new token from the system's cryptographic random source.
    public static func generate() -> TokenSecret {
        var rng = SystemRandomNumberGenerator()
        let keyID = String((0..<12).map { _ in keyAlphabet[Int(rng.next(upperBound: UInt32(keyAlphabet.count)))] })
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let secret = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return TokenSecret(keyID: keyID, secret: secret)
    }

    /// Splits a presented token; nil when it is not of the form above.
    public static func parse(_ token: String) -> TokenSecret? {
        guard token.hasPrefix("clc_") else { return nil }
        let rest = token.dropFirst(4)
        guard rest.count == 12 + 1 + 43, rest[rest.index(rest.startIndex, offsetBy: 12)] == "_" else { return nil }
        let keyID = String(rest.prefix(12))
        let secret = String(rest.suffix(43))
        guard keyID.allSatisfy({ keyAlphabet.contains($0) }),
            secret.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { return nil }
        return TokenSecret(keyID: keyID, secret: secret)
    }

    public var secretHash: [UInt8] { Array(SHA256.hash(data: Data(secret.utf8))) }

    /// Constant-time comparison of two digests: the time does not depend on where they differ.
    public static func digestsMatch(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
