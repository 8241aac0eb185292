/// Body of `GET /health/live` and a successful `GET /health/ready`.
public struct HealthStatus: Codable, Sendable, Equatable {
    public var status: String
    /// The newest applied schema migration (readiness only).
    public var schemaVersion: Int?
    public var version: String?

    enum CodingKeys: String, CodingKey {
        case status
        case schemaVersion = "schema_version"
        case version
    }

    public init(status: String, schemaVersion: Int? = nil, version: String? = nil) {
        self.status = status
        self.schemaVersion = schemaVersion
        self.version = version
    }
}

/// The release of server and client.
public enum CoalitionVersion {
    public static let current = "0.1.0"
}
