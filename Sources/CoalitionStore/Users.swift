import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

extension StoreTransaction {
    static let userColumns = "id, organization_id, email, display_name, role, status, created_at, updated_at"

    static func user(_ row: Row) throws -> User {
        User(
            id: try row.decode("id"), organizationID: try row.decode("organization_id"), email: try row.decode("email"),
            displayName: try row.decode("display_name"), role: try row.decode("role"), status: try row.decode("status"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    /// An organization's users ordered by lower-cased email, after the cursor's email.
    public func users(organizationID: UUID, after email: String?, limit: Int) async throws -> [User] {
        try await query("""
            SELECT \(unescaped: Self.userColumns) FROM users
            WHERE organization_id = \(organizationID) AND (\(email) IS NULL OR lower(email) > \(email))
            ORDER BY lower(email) LIMIT \(limit)
            """).map(Self.user)
    }

    /// The caller's user and organization, in one flight.
    public func me(userID: UUID, organizationID: UUID) async throws -> (User?, Organization?) {
        let results = try await connection.pipeline([
            "SELECT \(unescaped: Self.userColumns) FROM users WHERE id = \(userID)",
            "SELECT \(unescaped: Self.organizationColumns) FROM organizations WHERE id = \(organizationID)",
        ])
        return (try results[0].first.map(Self.user), try results[1].first.map(Self.organization))
    }

    public func user(id: UUID) async throws -> User? {
        try await query("SELECT \(unescaped: Self.userColumns) FROM users WHERE id = \(id)").first.map(Self.user)
    }

    public func createUser(organizationID: UUID, email: String, displayName: String, role: Role, passwordHash: String) async throws -> User {
        let user = try Self.user(try await query("""
            INSERT INTO users (organization_id, email, display_name, role, password_hash)
            VALUES (\(organizationID), \(email), \(displayName), \(role), \(passwordHash))
            RETURNING \(unescaped: Self.userColumns)
            """)[0])
        try await audit("user.create", entity: "user", id: user.id.uuidString.lowercased(),
                        data: ["email": .string(email), "role": .string(role.rawValue), "organization_id": .string(organizationID.uuidString.lowercased())])
        return user
    }

    /// The fields a PATCH may change; nil leaves a field as it is.
    public struct UserChanges: Sendable {
        public var displayName: String?
        public var role: Role?
        public var status: UserStatus?
        public var passwordHash: String?
        public init(displayName: String? = nil, role: Role? = nil, status: UserStatus? = nil, passwordHash: String? = nil) {
            self.displayName = displayName
            self.role = role
            self.status = status
            self.passwordHash = passwordHash
        }
    }

    /// Active coalition admins other than `user`, counted under a lock so that two admins
    /// demoting each other at once cannot leave none.
    public func otherActiveAdmins(than user: UUID) async throws -> Int {
        try await query("SELECT pg_advisory_xact_lock(hashtext('coalition-admins'))")
        return try await query("""
            SELECT count(*) AS n FROM users WHERE role = 'coalition_admin' AND status = 'active' AND id <> \(user)
            """)[0].decode("n")
    }

    public func updateUser(id: UUID, _ changes: UserChanges) async throws -> User? {
        guard let row = try await query("""
            UPDATE users SET display_name = coalesce(\(changes.displayName), display_name),
                   role = coalesce(\(changes.role), role), status = coalesce(\(changes.status), status),
                   password_hash = coalesce(\(changes.passwordHash), password_hash), updated_at = now()
            WHERE id = \(id) RETURNING \(unescaped: Self.userColumns)
            """).first else { return nil }
        var data: [String: JSONValue] = [:]
        if let v = changes.displayName { data["display_name"] = .string(v) }
        if let v = changes.role { data["role"] = .string(v.rawValue) }
        if let v = changes.status { data["status"] = .string(v.rawValue) }
        if changes.passwordHash != nil { data["password"] = .string("changed") }
        try await audit("user.update", entity: "user", id: id.uuidString.lowercased(), data: data)
        if changes.status == .disabled || changes.passwordHash != nil {
            // Disabling a user or changing its password ends every session and token it has, so
            // that enabling it again does not bring old credentials back.
            try await query("SELECT auth_revoke_user_tokens(\(id))")
        }
        return try Self.user(row)
    }
}
