import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

extension StoreTransaction {
    static let organizationColumns = "id, slug, name, kind, sector, status, joined_on, created_at, updated_at"

    static func organization(_ row: Row) throws -> Organization {
        Organization(
            id: try row.decode("id"), slug: try row.decode("slug"), name: try row.decode("name"),
            kind: try row.decode("kind"), sector: try row.decode("sector"), status: try row.decode("status"),
            joinedOn: try row.decode("joined_on"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    /// Organizations ordered by slug, after the cursor's slug. Row-level security limits
    /// members to their own.
    public func organizations(after slug: String?, limit: Int) async throws -> [Organization] {
        try await query("""
            SELECT \(unescaped: Self.organizationColumns) FROM organizations
            WHERE \(slug) IS NULL OR slug > \(slug) ORDER BY slug LIMIT \(limit)
            """).map(Self.organization)
    }

    public func organization(id: UUID) async throws -> Organization? {
        try await query("SELECT \(unescaped: Self.organizationColumns) FROM organizations WHERE id = \(id)").first.map(Self.organization)
    }

    public func organization(slug: String) async throws -> Organization? {
        try await query("SELECT \(unescaped: Self.organizationColumns) FROM organizations WHERE slug = \(slug)").first.map(Self.organization)
    }

    public func createOrganization(slug: String, name: String, kind: OrganizationKind, sector: String, joinedOn: CalendarDate?) async throws -> Organization {
        let row = try await query("""
            INSERT INTO organizations (slug, name, kind, sector, joined_on)
            VALUES (\(slug), \(name), \(kind), \(sector), coalesce(\(joinedOn), current_date))
            RETURNING \(unescaped: Self.organizationColumns)
            """)[0]
        let organization = try Self.organization(row)
        try await audit("organization.create", entity: "organization", id: organization.id.uuidString.lowercased(),
                        data: ["slug": .string(slug), "name": .string(name), "kind": .string(kind.rawValue)])
        return organization
    }

    /// The fields a PATCH may change; nil leaves a field as it is.
    public struct OrganizationChanges: Sendable {
        public var name: String?
        public var sector: String?
        public var status: OrganizationStatus?
        public init(name: String? = nil, sector: String? = nil, status: OrganizationStatus? = nil) {
            self.name = name
            self.sector = sector
            self.status = status
        }
    }

    public func updateOrganization(id: UUID, _ changes: OrganizationChanges) async throws -> Organization? {
        guard let row = try await query("""
            UPDATE organizations SET name = coalesce(\(changes.name), name), sector = coalesce(\(changes.sector), sector),
                   status = coalesce(\(changes.status), status), updated_at = now()
            WHERE id = \(id) RETURNING \(unescaped: Self.organizationColumns)
            """).first else { return nil }
        var data: [String: JSONValue] = [:]
        if let v = changes.name { data["name"] = .string(v) }
        if let v = changes.sector { data["sector"] = .string(v) }
        if let v = changes.status { data["status"] = .string(v.rawValue) }
        try await audit("organization.update", entity: "organization", id: id.uuidString.lowercased(), data: data)
        return try Self.organization(row)
    }
}
