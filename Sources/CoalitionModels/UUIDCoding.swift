import Foundation

// Identifiers travel in lowercase, as PostgreSQL prints them; Foundation would write uppercase.
// These overloads are picked by the synthesized `encode(to:)` of this module's types.
extension KeyedEncodingContainer {
    public mutating func encode(_ value: UUID, forKey key: Key) throws {
        try encode(value.uuidString.lowercased(), forKey: key)
    }

    public mutating func encodeIfPresent(_ value: UUID?, forKey key: Key) throws {
        if let value { try encode(value.uuidString.lowercased(), forKey: key) }
    }
}
