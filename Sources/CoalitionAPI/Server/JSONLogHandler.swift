import CoalitionModels
import Foundation
import Logging
import Synchronization

/// One JSON object per line on standard error (`COALITION_LOG_FORMAT=json`), for log
/// collectors: `ts` (UTC, milliseconds), `level`, `logger`, `message`, then the metadata as
/// string fields (a request's `request_id`, `route`, `status`, `duration_ms`…). A metadata key
/// that collides with one of the four fixed fields (or starts with `meta.`) is written with a
/// `meta.` prefix, so that no line has a key twice.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let sink: Sink

    /// Where the lines go; one lock, so that lines of concurrent records never interleave.
    public final class Sink: Sendable {
        let write: @Sendable (String) -> Void
        private let lock = Mutex(())

        public init(_ write: @escaping @Sendable (String) -> Void) { self.write = write }

        /// A failed write (a closed stderr) loses the line, never the process.
        public static let standardError = Sink { line in try? FileHandle.standardError.write(contentsOf: Data(line.utf8)) }

        func emit(_ line: String) { lock.withLock { _ in write(line) } }
    }

    public init(label: String, level: Logger.Level, sink: Sink = .standardError) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let own = event.metadata { fields.merge(own) { _, new in new } }
        var line = "{\"ts\":\(Self.quoted(Self.timestamp(Date())))"
        line += ",\"level\":\(Self.quoted(event.level.rawValue))"
        line += ",\"logger\":\(Self.quoted(label))"
        line += ",\"message\":\(Self.quoted(event.message.description))"
        for key in fields.keys.sorted() {
            let name = ["ts", "level", "logger", "message"].contains(key) || key.hasPrefix("meta.") ? "meta." + key : key
            line += ",\(Self.quoted(name)):\(Self.quoted(Self.flatten(fields[key]!)))"
        }
        line += "}\n"
        sink.emit(line)
    }

    static func flatten(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): return s
        case .stringConvertible(let c): return c.description
        case .array(let items): return "[" + items.map(flatten).joined(separator: ", ") + "]"
        case .dictionary(let d): return "{" + d.keys.sorted().map { "\($0): \(flatten(d[$0]!))" }.joined(separator: ", ") + "}"
        }
    }

    /// A JSON string literal, escaped as the models' canonical JSON escapes it.
    static func quoted(_ text: String) -> String { JSONValue.string(text).canonicalText }

    /// `2026-11-30T06:01:45.759Z`.
    static func timestamp(_ date: Date) -> String {
        let since1970 = date.timeIntervalSince1970
        var seconds = time_t(since1970.rounded(.down))
        let millis = Int((since1970 - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }
}
