import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file written by `coalition login`: `$XDG_CONFIG_HOME/coalition/config.json` (default
/// `~/.config/coalition/config.json`), mode 0600 in a directory of mode 0700.
struct ClientConfig: Codable, Equatable {
    var url: String
    var token: String?

    static var directory: URL {
        if let xdg = ProcessInfo.processInfo.environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("coalition")
        }
        let home = ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".config/coalition")
    }

    static var path: URL { directory.appendingPathComponent("config.json") }

    /// The saved configuration, or nil when there is none (or it cannot be read).
    static func load() -> ClientConfig? {
        guard let data = FileManager.default.contents(atPath: path.path) else { return nil }
        return try? JSONDecoder().decode(ClientConfig.self, from: data)
    }

    /// Writes the file atomically: a new file of mode 0600 renamed over the old one.
    func save() throws {
        let dir = Self.directory
        if !FileManager.default.fileExists(atPath: dir.path) {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self) + Data("\n".utf8)
        let temporary = dir.appendingPathComponent(".config.json.\(getpid())")
        unlink(temporary.path)
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0o600)
        guard fd >= 0 else { throw ConfigError(message: "cannot write \(temporary.path): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, 0o600)
        close(fd)
        guard written == data.count else {
            unlink(temporary.path)
            throw ConfigError(message: "cannot write \(temporary.path)")
        }
        guard rename(temporary.path, Self.path.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw ConfigError(message: "cannot write \(Self.path.path): \(reason)")
        }
    }

    /// Whether two server URLs name the same server (trailing slashes aside).
    static func sameServer(_ a: String, _ b: String) -> Bool {
        func normal(_ s: String) -> String {
            var s = s.lowercased()
            while s.hasSuffix("/") { s.removeLast() }
            return s
        }
        return normal(a) == normal(b)
    }
}

struct ConfigError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
