import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation

/// Too many failed password checks: answered 429 with `Retry-After`.
struct Throttled: Error {
    var retryAfter: Int
}

/// Checks an email and password under the login throttle, for logins and for a user who
/// confirms its current password: `Throttled` while the throttle holds for this email from
/// this address, or for this address; a growing delay once the email failed often from
/// anywhere (a slowdown, never a lockout of the right password); the user's record when
/// the password is right; nil otherwise, with the failure counted and audited. An unknown email
/// takes the same path and the same bcrypt time as a wrong password.
struct CredentialCheck: Sendable {
    let env: APIEnvironment

    func verify(email: String, password: String, address: String) async throws -> LoginRecord? {
        let emailKey = email.lowercased()
        let settings = env.settings
        let wait = try await env.store.transaction(as: nil) {
            try await $0.beginLoginAttempt(
                emailKey: emailKey, address: address, perEmail: settings.loginFailuresPerEmail,
                perAddress: settings.loginFailuresPerAddress, windowSeconds: settings.loginWindowSeconds)
        }
        switch wait {
        case .refused(let retryAfter): throw Throttled(retryAfter: retryAfter)
        case .allowed(let delay): if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
        }
        let record = try await env.store.transaction(as: nil) { try await $0.loginRecord(email: emailKey) }
        let passwordOK = try await env.passwords.verify(password, hash: record?.passwordHash)
        guard let record, passwordOK else {
            try await failed(email: email, address: address)
            return nil
        }
        return record
    }

    /// Audits a failed check (its attempt was counted when it began).
    func failed(email: String, address: String) async throws {
        try await env.store.transaction(as: nil) { try await $0.recordLoginFailure(emailKey: email.lowercased(), address: address) }
    }

    /// A login, for the API (`session`) and the console (`console`): the check above, then, for
    /// an active user of an active organization, a new token of `kind` (audited as a login) in
    /// one transaction with forgetting the failures; `then` runs in that transaction too. Nil
    /// for wrong credentials, and for the right password of a disabled user or of a suspended
    /// organization's, which is a failed login all the same, and audited as one.
    func logIn<T>(
        email: String, password: String, address: String, kind: TokenKind, name: String, lifetimeSeconds: Int,
        then body: (StoreTransaction, LoginRecord) async throws -> T
    ) async throws -> (secret: TokenSecret, expiresAt: Date, value: T)? {
        guard let record = try await verify(email: email, password: password, address: address) else { return nil }
        guard record.status == .active, record.organizationStatus == .active else {
            try await failed(email: email, address: address)
            return nil
        }
        let secret = TokenSecret.generate()
        let expiresAt = Date().addingTimeInterval(Double(lifetimeSeconds))
        let caller = Caller(userID: record.userID, organizationID: record.organizationID, role: record.role, scopes: [.read, .write], tokenID: UUID())
        let value = try await env.store.transaction(as: caller) { tx in
            try await succeeded(email: email, address: address, in: tx)
            _ = try await tx.createToken(
                userID: record.userID, organizationID: record.organizationID, kind: kind, name: name,
                keyID: secret.keyID, secretHash: secret.secretHash, scopes: [.read, .write], expiresAt: expiresAt)
            return try await body(tx, record)
        }
        return (secret, expiresAt, value)
    }

    /// After a success: the failures of this email from this address are forgotten.
    func succeeded(email: String, address: String, in tx: StoreTransaction) async throws {
        try await tx.clearLoginFailures(emailKey: email.lowercased(), address: address)
    }
}
