import Foundation

/// Where a member's product footprint stands: a draft only its organization sees, or published
/// to the coalition and to PACT clients.
public enum FootprintState: String, Codable, Sendable, CaseIterable {
    case draft, published
}

/// A product footprint as the Coalition API shows it: who declared it, its state, and the PACT v3
/// `ProductFootprint` document itself (with the fields the server sets: id, specVersion, created,
/// status).
public struct FootprintRecord: Codable, Sendable, Equatable {
    public var id: UUID
    public var organizationID: UUID
    public var state: FootprintState
    public var standardID: UUID?
    public var createdBy: UUID
    public var createdAt: Date
    public var publishedAt: Date?
    public var footprint: JSONValue

    public init(
        id: UUID, organizationID: UUID, state: FootprintState, standardID: UUID?, createdBy: UUID, createdAt: Date,
        publishedAt: Date?, footprint: JSONValue
    ) {
        self.id = id
        self.organizationID = organizationID
        self.state = state
        self.standardID = standardID
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.publishedAt = publishedAt
        self.footprint = footprint
    }

    enum CodingKeys: String, CodingKey {
        case id, state, footprint
        case organizationID = "organization_id"
        case standardID = "standard_id"
        case createdBy = "created_by"
        case createdAt = "created_at"
        case publishedAt = "published_at"
    }
}

/// A registered PACT client (data recipient), without its secret.
public struct PACTClient: Codable, Sendable, Equatable {
    public var id: UUID
    public var clientID: String
    public var name: String
    public var organizationID: UUID?
    public var scopes: [String]
    public var callbackClientID: String?
    public var createdAt: Date
    /// When it was disabled (its tokens deleted); nil while it may connect.
    public var disabledAt: Date?

    public init(
        id: UUID, clientID: String, name: String, organizationID: UUID?, scopes: [String], callbackClientID: String?, createdAt: Date,
        disabledAt: Date? = nil
    ) {
        self.id = id
        self.clientID = clientID
        self.name = name
        self.organizationID = organizationID
        self.scopes = scopes
        self.callbackClientID = callbackClientID
        self.createdAt = createdAt
        self.disabledAt = disabledAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, scopes
        case clientID = "client_id"
        case organizationID = "organization_id"
        case callbackClientID = "callback_client_id"
        case createdAt = "created_at"
        case disabledAt = "disabled_at"
    }
}

/// A PACT client just registered: its secret is shown this once.
public struct PACTClientCreated: Codable, Sendable, Equatable {
    public var client: PACTClient
    public var clientSecret: String

    public init(client: PACTClient, clientSecret: String) {
        self.client = client
        self.clientSecret = clientSecret
    }

    enum CodingKeys: String, CodingKey {
        case clientSecret = "client_secret"
    }

    public init(from decoder: any Decoder) throws {
        client = try PACTClient(from: decoder)
        clientSecret = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .clientSecret)
    }

    public func encode(to encoder: any Encoder) throws {
        try client.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(clientSecret, forKey: .clientSecret)
    }
}

/// What `POST /v1/footprints/bulk` stored: every footprint of the file, or none.
public struct FootprintUpload: Codable, Sendable, Equatable {
    public var created: Int
    public var published: Bool
    public var ids: [UUID]
}
