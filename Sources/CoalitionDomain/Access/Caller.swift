import CoalitionModels
import Foundation

/// The authenticated caller of a request: a user acting through one token.
public struct Caller: Sendable, Equatable {
    public var userID: UUID
    public var organizationID: UUID
    public var role: Role
    public var scopes: Set<TokenScope>
    public var tokenID: UUID

    public init(userID: UUID, organizationID: UUID, role: Role, scopes: Set<TokenScope>, tokenID: UUID) {
        self.userID = userID
        self.organizationID = organizationID
        self.role = role
        self.scopes = scopes
        self.tokenID = tokenID
    }

    public var canWrite: Bool { scopes.contains(.write) }
}
