import HummingbirdBcrypt
import NIOPosix

/// bcrypt hashing off the cooperative thread pool: a hash at cost 12 takes a quarter of a second
/// of CPU, so it runs on NIO's blocking-work pool.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    /// A hash of a random password, verified against when the email is unknown, so that an
    /// unknown email and a wrong password take the same time.
    let decoy: String

    public init(cost: Int) {
        self.cost = UInt8(cost)
        self.decoy = Bcrypt.hash(TokenSecret.generate().secret, cost: UInt8(cost))
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Verifies `password` against `hash`, or against the decoy when there is no user.
    public func verify(_ password: String, hash: String?) async throws -> Bool {
        let target = hash ?? decoy
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: target) }
        return hash != nil && matches
    }
}
