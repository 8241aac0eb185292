import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Crypto
import Foundation

/// The secrets of the PACT API: client ids and secrets, access tokens, and the callback
/// secrets the server keeps sealed.
///
/// A client secret and an access token are 256 random bits (base64url), stored only as their
/// SHA-256 and compared in constant time. A callback secret must be presented to the client's
/// own token endpoint, so it is kept sealed with AES-256-GCM under `COALITION_SECRETS_KEY`
/// (nonce, ciphertext and tag in one value).
enum PACTCredentials {
    static func random(_ count: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func newClientID() -> String { "pc_" + random(12) }
    static func newSecret() -> String { "pcs_" + random(32) }
    static func newAccessToken() -> String { "pat_" + random(32) }

    static func hash(_ secret: String) -> [UInt8] { Array(SHA256.hash(data: Data(secret.utf8))) }

    static func seal(_ secret: String, key: [UInt8]) throws -> [UInt8] {
        let box = try AES.GCM.seal(Data(secret.utf8), using: SymmetricKey(data: key))
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return Array(combined)
    }

    static func open(_ sealed: [UInt8], key: [UInt8]) throws -> String {
        let box = try AES.GCM.SealedBox(combined: Data(sealed))
        return String(decoding: try AES.GCM.open(box, using: SymmetricKey(data: key)), as: UTF8.self)
    }
}

/// Registers a PACT client, for the API and for `coalition-server pact-clients create`.
public enum PACTClientRegistration {
    public static let scopes = ["footprint:list", "footprint:read"]

    public enum Refusal: Error, CustomStringConvertible {
        case noSecretsKey
        public var description: String {
            "callback credentials need COALITION_SECRETS_KEY (32 bytes in base64) to be kept sealed at rest"
        }
    }

    /// Stores the client in `tx` (audited as the transaction's caller) and returns it with its
    /// secret, which exists nowhere else.
    public static func register(
        name: String, organizationID: UUID?, callbackClientID: String?, callbackClientSecret: String?, secretsKey: [UInt8]?,
        createdBy: UUID?, in tx: StoreTransaction
    ) async throws -> PACTClientCreated {
        var sealed: [UInt8]?
        if let callbackClientSecret {
            guard let secretsKey else { throw Refusal.noSecretsKey }
            sealed = try PACTCredentials.seal(callbackClientSecret, key: secretsKey)
        }
        let secret = PACTCredentials.newSecret()
        let client = try await tx.createPACTClient(
            clientID: PACTCredentials.newClientID(), secretHash: PACTCredentials.hash(secret), name: name, organizationID: organizationID,
            scopes: scopes, callbackClientID: callbackClientID, sealedCallbackSecret: sealed, createdBy: createdBy)
        return PACTClientCreated(client: client, clientSecret: secret)
    }
}
