import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection that speaks HTTP/1.1 by hand, for what a well-behaved client never
/// does: stall mid-body, send huge headers, hold a connection idle, or come from another
/// loopback address (127.0.0.2, …) to look like another client.
final class RawConnection {
    let fd: Int32

    /// Connects to 127.0.0.1:`port`, from `source` (a 127.x.y.z address) when given.
    init(port: Int, from source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TimeoutError(what: "socket() failed") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_port = 0
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { close(fd); throw TimeoutError(what: "bind to \(source) failed: errno \(errno)") }
        }
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw TimeoutError(what: "connect to port \(port) failed: errno \(errno)") }
    }

    /// The port of a server's base URL (`http://127.0.0.1:PORT`).
    static func port(of baseURL: String) -> Int { Int(baseURL.split(separator: ":").last ?? "") ?? 0 }

    func send(_ text: String) throws { try send(Data(text.utf8)) }

    func send(_ data: Data) throws {
        try data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw TimeoutError(what: "send failed: errno \(errno)") }
                offset += n
            }
        }
    }

    /// What the server sends within `timeout`, and whether it closed the connection by then.
    /// Stops early once a whole response (head, and a body of its Content-Length) arrived, unless
    /// `untilClosed`.
    func receive(timeout: Duration, untilClosed: Bool = false) -> (text: String, closed: Bool) {
        var data = Data()
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while ContinuousClock.now < deadline {
            let left = deadline - ContinuousClock.now
            let millis = Int32(max(1, min(1000, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)))
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, millis) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return (String(decoding: data, as: UTF8.self), true) }
            data.append(contentsOf: buffer[0..<n])
            if !untilClosed, Self.isComplete(data) { return (String(decoding: data, as: UTF8.self), false) }
        }
        return (String(decoding: data, as: UTF8.self), false)
    }

    /// The status code of the first response in `text`, or nil.
    static func status(_ text: String) -> Int? {
        guard text.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }

    static func isComplete(_ data: Data) -> Bool {
        guard let end = data.firstRange(of: Data("\r\n\r\n".utf8)) else { return false }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).lowercased()
        let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        return data.count - end.upperBound >= length
    }

    deinit { close(fd) }
}

/// A JSON POST written by hand (for requests from another loopback address).
func rawJSONRequest(_ method: String, _ path: String, json: String, token: String? = nil) -> String {
    var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n"
    if let token { text += "Authorization: Bearer \(token)\r\n" }
    return text + "\r\n" + json
}
