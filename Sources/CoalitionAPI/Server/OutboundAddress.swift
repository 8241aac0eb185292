import Foundation

/// Where the server may send a request it did not choose (an answer to a PACT client's request,
/// whose host the client names): public addresses only, unless the operator allows private ones
/// (`COALITION_OUTBOUND_ALLOW_PRIVATE`, for a receiver on the same network or a test's loopback).
/// The host is resolved first and refused when any of its addresses is loopback, private
/// (RFC 1918, unique local), link-local, carrier-grade NAT or unspecified. (A name that resolves
/// differently a moment later is not caught: the NetworkPolicy of deploy/ bounds egress too.)
enum OutboundAddress {
    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    static func check(host: String) async throws {
        let addresses = try await resolve(host)
        guard !addresses.isEmpty else { throw Refused(description: "\(host) does not resolve") }
        if let bad = addresses.first(where: isPrivate) {
            throw Refused(description: "\(host) resolves to \(bad), not a public address (COALITION_OUTBOUND_ALLOW_PRIVATE)")
        }
    }

    /// The numeric addresses of `host` (getaddrinfo, off the cooperative pool).
    static func resolve(_ host: String) async throws -> [String] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), "443", &hints, &list)
                guard status == 0, let first = list else {
                    continuation.resume(throwing: Refused(description: "\(host) does not resolve"))
                    return
                }
                defer { freeaddrinfo(first) }
                var result: [String] = []
                var node: UnsafeMutablePointer<addrinfo>? = first
                while let info = node {
                    var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                    if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                        result.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                    }
                    node = info.pointee.ai_next
                }
                continuation.resume(returning: result)
            }
        }
    }

    static func isPrivate(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return isPrivate(v4: UInt32(bigEndian: v4.s_addr)) }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return true }
        let b = withUnsafeBytes(of: v6) { Array($0) }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {  // ::ffff:a.b.c.d
            return isPrivate(v4: UInt32(b[12]) << 24 | UInt32(b[13]) << 16 | UInt32(b[14]) << 8 | UInt32(b[15]))
        }
        if b[0..<15].allSatisfy({ $0 == 0 }) { return true }  // :: and ::1
        return b[0] & 0xfe == 0xfc || (b[0] == 0xfe && b[1] & 0xc0 == 0x80)  // fc00::/7, fe80::/10
    }

    static func isPrivate(v4 a: UInt32) -> Bool {
        func within(_ base: UInt32, _ bits: UInt32) -> Bool { a >> (32 - bits) == base >> (32 - bits) }
        return within(0x0000_0000, 8) || within(0x0A00_0000, 8) || within(0x7F00_0000, 8) || within(0xA9FE_0000, 16)
            || within(0xAC10_0000, 12) || within(0xC0A8_0000, 16) || within(0x6440_0000, 10)
    }
}
