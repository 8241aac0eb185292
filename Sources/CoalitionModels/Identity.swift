import Foundation

/// An organization of the coalition (SPEC §1).
public struct Organization: Codable, Sendable, Equatable {
    public var id: UUID
    public var slug: String
    public var name: String
    public var kind: OrganizationKind
    public var sector: String
    public var status: OrganizationStatus
    public var joinedOn: CalendarDate
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, slug, name, kind, sector, status
        case joinedOn = "joined_on"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(id: UUID, slug: String, name: String, kind: OrganizationKind, sector: String, status: OrganizationStatus, joinedOn: CalendarDate, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.slug = slug
        self.name = name
        self.kind = kind
        self.sector = sector
        self.status = status
        self.joinedOn = joinedOn
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A user; the password hash never leaves the server.
public struct User: Codable, Sendable, Equatable {
    public var id: UUID
    public var organizationID: UUID
    public var email: String
    public var displayName: String
    public var role: Role
    public var status: UserStatus
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, email, role, status
        case organizationID = "organization_id"
        case displayName = "display_name"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(id: UUID, organizationID: UUID, email: String, displayName: String, role: Role, status: UserStatus, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.organizationID = organizationID
        self.email = email
        self.displayName = displayName
        self.role = role
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// An API token or login session as listed: never the secret.
public struct APIToken: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var kind: TokenKind
    public var prefix: String
    public var scopes: [TokenScope]
    public var expiresAt: Date?
    public var lastUsedAt: Date?
    public var revokedAt: Date?
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, kind, prefix, scopes
        case expiresAt = "expires_at"
        case lastUsedAt = "last_used_at"
        case revokedAt = "revoked_at"
        case createdAt = "created_at"
    }

    public init(id: UUID, name: String, kind: TokenKind, prefix: String, scopes: [TokenScope], expiresAt: Date?, lastUsedAt: Date?, revokedAt: Date?, createdAt: Date) {
        self.id = id
        self.name = name
        self.kind = kind
        self.prefix = prefix
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
        self.createdAt = createdAt
    }
}

/// The answer to `POST /v1/tokens`: the only time the secret is shown.
public struct CreatedToken: Codable, Sendable, Equatable {
    public var token: String
    public var details: APIToken

    public init(token: String, details: APIToken) {
        self.token = token
        self.details = details
    }

    enum CodingKeys: String, CodingKey { case token }

    public init(from decoder: any Decoder) throws {
        token = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .token)
        details = try APIToken(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try details.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(token, forKey: .token)
    }
}

/// The answer to `POST /v1/auth/login`.
public struct LoginResponse: Codable, Sendable, Equatable {
    public var token: String
    public var expiresAt: Date
    public var user: User

    enum CodingKeys: String, CodingKey {
        case token, user
        case expiresAt = "expires_at"
    }

    public init(token: String, expiresAt: Date, user: User) {
        self.token = token
        self.expiresAt = expiresAt
        self.user = user
    }
}

/// The answer to `GET /v1/me`.
public struct Me: Codable, Sendable, Equatable {
    public var user: User
    public var organization: Organization
    public var role: Role
    public var scopes: [TokenScope]

    public init(user: User, organization: Organization, role: Role, scopes: [TokenScope]) {
        self.user = user
        self.organization = organization
        self.role = role
        self.scopes = scopes
    }
}

/// A cursor-paginated list.
public struct Page<Item: Codable & Sendable>: Codable, Sendable {
    public var items: [Item]
    public var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(nextCursor, forKey: .nextCursor)  // null, not absent, on the last page
    }
}

/// One entry of the audit trail.
public struct AuditEntry: Codable, Sendable, Equatable {
    public var id: Int64
    public var seq: Int64?
    public var at: Date
    public var actorUserID: UUID?
    public var actorOrganizationID: UUID?
    public var action: String
    public var entity: String
    public var entityID: String?
    public var data: JSONValue
    public var prevHash: String?
    public var hash: String?

    enum CodingKeys: String, CodingKey {
        case id, seq, at, action, entity, data, hash
        case actorUserID = "actor_user_id"
        case actorOrganizationID = "actor_organization_id"
        case entityID = "entity_id"
        case prevHash = "prev_hash"
    }

    public init(id: Int64, seq: Int64?, at: Date, actorUserID: UUID?, actorOrganizationID: UUID?, action: String, entity: String, entityID: String?, data: JSONValue, prevHash: String?, hash: String?) {
        self.id = id
        self.seq = seq
        self.at = at
        self.actorUserID = actorUserID
        self.actorOrganizationID = actorOrganizationID
        self.action = action
        self.entity = entity
        self.entityID = entityID
        self.data = data
        self.prevHash = prevHash
        self.hash = hash
    }
}

/// The answer to `GET /v1/audit/verify` and `coalition-server audit-verify`.
public struct AuditVerification: Codable, Sendable, Equatable {
    public var ok: Bool
    public var entries: Int64
    public var firstBadSeq: Int64?
    /// The newest sealed hash: publish it elsewhere to detect a rewrite by the database owner.
    public var headHash: String?

    enum CodingKeys: String, CodingKey {
        case ok, entries
        case firstBadSeq = "first_bad_seq"
        case headHash = "head_hash"
    }

    public init(ok: Bool, entries: Int64, firstBadSeq: Int64?, headHash: String?) {
        self.ok = ok
        self.entries = entries
        self.firstBadSeq = firstBadSeq
        self.headHash = headHash
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ok, forKey: .ok)
        try c.encode(entries, forKey: .entries)
        try c.encode(firstBadSeq, forKey: .firstBadSeq)
        try c.encode(headHash, forKey: .headHash)
    }
}
