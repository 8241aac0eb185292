import Foundation

// Identifiers travel in lowercase, as PostgreSQL prints them; Foundation would write uppercase.
// These overloads are internal: the synthesized `encode(to:)` of this module's wire types
// picks them, and nothing outside this module is affected.
extension KeyedEncodingContainer {
    mutating func encode(_ value: UUID, forKey key: Key) throws {
        try encode(value.uuidString.lowercased(), forKey: key)
    }

    mutating func encodeIfPresent(_ value: UUID?, forKey key: Key) throws {
        if let value { try encode(value.uuidString.lowercased(), forKey: key) }
    }

    mutating func encode(_ values: [UUID], forKey key: Key) throws {
        try encode(values.map { $0.uuidString.lowercased() }, forKey: key)
    }
}
