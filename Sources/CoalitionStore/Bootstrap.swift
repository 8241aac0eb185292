import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

/// What `coalition-server bootstrap` did.
public enum BootstrapOutcome: Sendable, Equatable {
    case created(organization: UUID, admin: UUID)
    /// A coalition admin exists already; nothing was changed.
    case alreadyBootstrapped
}

extension Store {
    /// Creates the secretariat and its first coalition admin when no coalition admin exists.
    /// Runs as the owner role (there is no caller to pass row-level security yet), under an
    /// advisory lock so that two bootstraps at once create one admin.
    public static func bootstrap(owner: ConnectionPool, adminEmail: String, passwordHash: String) async throws -> BootstrapOutcome {
        try await owner.transaction { conn in
            _ = try await conn.query("SELECT pg_advisory_xact_lock(7306370561)")
            let admins = try await conn.query("SELECT count(*) AS n FROM users WHERE role = 'coalition_admin'")[0].decode("n", as: Int.self)
            if admins > 0 { return .alreadyBootstrapped }
            let organization: UUID
            if let row = try await conn.query("SELECT id FROM organizations WHERE kind = 'secretariat' ORDER BY created_at LIMIT 1").first {
                organization = try row.decode("id")
            } else {
                organization = try await conn.query("""
                    INSERT INTO organizations (slug, name, kind, sector) VALUES ('secretariat', 'Coalition Secretariat', 'secretariat', 'secretariat')
                    RETURNING id
                    """)[0].decode("id")
            }
            let admin: UUID = try await conn.query("""
                INSERT INTO users (organization_id, email, display_name, role, password_hash)
                VALUES (\(organization), \(adminEmail), 'Coalition admin', 'coalition_admin', \(passwordHash)) RETURNING id
                """)[0].decode("id")
            let tx = StoreTransaction(connection: conn, caller: nil, concludes: false)
            try await tx.audit("coalition.bootstrap", entity: "user", id: admin.uuidString.lowercased(),
                               data: ["email": .string(adminEmail), "organization_id": .string(organization.uuidString.lowercased())])
            return .created(organization: organization, admin: admin)
        }
    }
}
