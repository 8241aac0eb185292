import Foundation

/// The load balancers and ingress controllers whose `X-Forwarded-For` the server believes
/// (`COALITION_TRUSTED_PROXIES`: addresses or CIDR blocks, IPv4 or IPv6). Without them, or for a
/// peer not among them, the client is the peer: a header anyone can send never chooses whose
/// login failures are counted.
public struct TrustedProxies: Sendable, Equatable {
    struct Block: Sendable, Equatable {
        var bytes: [UInt8]
        var prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var bits = prefix
            for (a, b) in zip(address, bytes) where bits > 0 {
                let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if a & mask != b & mask { return false }
                bits -= 8
            }
            return true
        }
    }

    var blocks: [Block]

    public static let none = TrustedProxies(blocks: [])

    public var isEmpty: Bool { blocks.isEmpty }

    /// Parses a comma-separated list; fails with the reason for the first bad entry.
    public static func parse(_ text: String) -> Result<TrustedProxies, Reason> {
        var blocks: [Block] = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            guard let bytes = Self.bytes(of: parts[0]) else { return .failure(Reason("\"\(entry)\" is not an IP address or CIDR block")) }
            var prefix = bytes.count * 8
            if parts.count == 2 {
                guard let p = Int(parts[1]), (0...bytes.count * 8).contains(p) else {
                    return .failure(Reason("\"\(entry)\" has a prefix length outside 0-\(bytes.count * 8)"))
                }
                prefix = p
            }
            blocks.append(Block(bytes: bytes, prefix: prefix))
        }
        return .success(TrustedProxies(blocks: blocks))
    }

    public struct Reason: Error, Equatable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public func contains(_ address: String) -> Bool {
        guard let bytes = Self.bytes(of: address) else { return false }
        return blocks.contains { $0.contains(bytes) }
    }

    /// The client of a request that came from `peer` with these `X-Forwarded-For` values (each
    /// a comma-separated list, in the order the header fields arrived): walking from the
    /// nearest hop back, the first address that is not a trusted proxy. The peer itself when it
    /// is not trusted, and the farthest valid address when every hop is trusted. A hop that is
    /// not an IP address ends the walk: what lies beyond it cannot be believed.
    public func client(peer: String, forwardedFor: [String]) -> String {
        guard contains(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var client = peer
        for hop in hops.reversed() {
            guard Self.bytes(of: hop) != nil else { break }
            client = hop
            if !contains(hop) { break }
        }
        return client
    }

    /// 4 or 16 bytes of a textual IPv4 or IPv6 address (an IPv4-mapped IPv6 address as IPv4).
    static func bytes(of text: String) -> [UInt8]? {
        guard text.utf8.count <= 45 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return Array(bytes[12...]) }
            return bytes
        }
        return nil
    }
}
