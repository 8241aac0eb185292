import CoalitionModels
import Foundation

/// The formats of a bulk file (SPEC §4).
public enum BulkFormat: String, Sendable, CaseIterable {
    case csv, ndjson

    public var contentType: String { self == .csv ? "text/csv" : "application/x-ndjson" }

    /// The format a `Content-Type` names, if any.
    public init?(contentType: String) {
        let type = contentType.lowercased()
        if type.hasPrefix("text/csv") { self = .csv } else if type.hasPrefix("application/x-ndjson") { self = .ndjson } else { return nil }
    }
}

/// The columns of SPEC §4.
public enum BulkColumns {
    /// In the order the SPEC lists them (the order of NDJSON rows written back as CSV).
    public static let ordered = [
        "project", "milestone", "organization", "period_start", "period_end", "value", "unit", "notes", "evidence_url", "external_ref",
    ]
    public static let all = Set(ordered)
    public static let required: Set<String> = ["project", "milestone", "period_start", "period_end", "value", "unit"]
    /// The required columns sorted by name: the order a row's missing ones are reported in.
    public static let requiredInOrder = required.sorted()
}

/// One data row of a bulk upload, by column name, with its line number in the file.
public struct BulkRow: Sendable, Equatable {
    public var line: Int
    public var fields: [String: String]
    public init(line: Int, fields: [String: String]) {
        self.line = line
        self.fields = fields
    }
}

/// Why a bulk file cannot be read at all (as opposed to a row that is invalid).
public struct BulkFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    /// The column at fault, for header problems (unknown or missing columns).
    public var field: String?
    public init(line: Int, message: String, field: String? = nil) {
        self.line = line
        self.message = message
        self.field = field
    }
    public var description: String { "line \(line): \(message)" }
}

/// One record of a bulk file: a CSV record (which may span lines inside quotes) or an NDJSON
/// line, without its line end.
public struct BulkRecord: Sendable, Equatable {
    /// The file line the record starts on (a CSV header is line 1).
    public var line: Int
    /// The physical lines it spans.
    public var lineCount: Int
    /// Its bytes; empty when the record was longer than the limit.
    public var bytes: [UInt8]
    /// Longer than the splitter's limit: its bytes were dropped as they arrived.
    public var oversized: Bool
    /// The file ended inside a quoted field that this record opened.
    public var endsInsideQuotes: Bool

    public init(line: Int, lineCount: Int, bytes: [UInt8], oversized: Bool, endsInsideQuotes: Bool = false) {
        self.line = line
        self.lineCount = lineCount
        self.bytes = bytes
        self.oversized = oversized
        self.endsInsideQuotes = endsInsideQuotes
    }
}

/// Splits a bulk file into records as its bytes arrive, holding at most one record of at most
/// `maxRecordBytes` (longer records are marked and their bytes dropped, so a hostile file costs
/// no more memory than a valid one). CSV follows RFC 4180's quoting, so a quoted line end stays
/// inside its record; a UTF-8 BOM at the start is skipped; CRLF and LF both end a line; blank
/// records are skipped but counted as lines.
public struct BulkRecordSplitter: Sendable {
    public let format: BulkFormat
    public let maxRecordBytes: Int

    enum CSVState { case fieldStart, unquoted, quoted, quoteInQuoted }

    private var current: [UInt8] = []
    private var oversized = false
    private var line = 1
    private var newlines = 0
    private var state = CSVState.fieldStart
    /// The first bytes of the file, until it is known whether they are a BOM.
    private var head: [UInt8]? = []

    public init(format: BulkFormat, maxRecordBytes: Int = BulkLimits.recordBytes) {
        self.format = format
        self.maxRecordBytes = maxRecordBytes
    }

    /// Feeds the next bytes of the file; `emit` receives every record they complete.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (BulkRecord) throws -> Void) rethrows {
        if var pending = head {
            let take = min(bytes.count, 3 - pending.count)
            pending.append(contentsOf: bytes[0..<take])
            guard pending.count == 3 else {
                head = pending
                return
            }
            head = nil
            try scanHead(pending, emit)
            try scan(UnsafeRawBufferPointer(rebasing: bytes[take...]), emit)
            return
        }
        try scan(bytes, emit)
    }

    /// The first bytes of the file, without a UTF-8 byte order mark.
    private mutating func scanHead(_ head: [UInt8], _ emit: (BulkRecord) throws -> Void) rethrows {
        let start = head.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        try Array(head[start...]).withUnsafeBytes { try scan($0, emit) }
    }

    public mutating func feed(_ bytes: [UInt8], _ emit: (BulkRecord) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { try feed($0, emit) }
    }

    /// Ends the file: a last record without a line end is emitted.
    public mutating func finish(_ emit: (BulkRecord) throws -> Void) rethrows {
        if let pending = head {
            head = nil
            try scanHead(pending, emit)
        }
        if !current.isEmpty || oversized || newlines > 0 || state == .quoted { try endRecord(emit) }
    }

    private mutating func scan(_ bytes: UnsafeRawBufferPointer, _ emit: (BulkRecord) throws -> Void) rethrows {
        let newline = UInt8(ascii: "\n")
        let quote = UInt8(ascii: "\"")
        let comma = UInt8(ascii: ",")
        var runStart = 0
        var i = 0
        let csv = format == .csv
        while i < bytes.count {
            let b = bytes[i]
            var ends = false
            if csv {
                switch state {
                case .fieldStart:
                    if b == quote { state = .quoted } else if b == newline { ends = true } else if b != comma { state = .unquoted }
                case .unquoted:
                    if b == comma { state = .fieldStart } else if b == newline { ends = true }
                case .quoted:
                    if b == quote { state = .quoteInQuoted } else if b == newline { newlines += 1 }
                case .quoteInQuoted:
                    if b == quote { state = .quoted } else if b == comma { state = .fieldStart } else if b == newline { ends = true } else {
                        state = .unquoted
                    }
                }
            } else {
                ends = b == newline
            }
            if ends {
                append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<i]))
                try endRecord(emit)
                runStart = i + 1
            }
            i += 1
        }
        append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<bytes.count]))
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !oversized, !bytes.isEmpty else { return }
        if current.count + bytes.count > maxRecordBytes {
            oversized = true
            current = []
        } else {
            current.append(contentsOf: bytes)
        }
    }

    private mutating func endRecord(_ emit: (BulkRecord) throws -> Void) rethrows {
        if current.last == UInt8(ascii: "\r") { current.removeLast() }
        let blank = !oversized && (format == .csv ? current.isEmpty : current.allSatisfy { $0 == 0x20 || $0 == 0x09 })
        // A copy of exactly the record's size: handing over `current` itself would make the
        // next record's buffer a fresh one of the largest capacity seen so far, and every
        // record would carry that capacity.
        let record = BulkRecord(
            line: line, lineCount: newlines + 1, bytes: current.withUnsafeBufferPointer { Array($0) }, oversized: oversized, endsInsideQuotes: format == .csv && state == .quoted)
        line += newlines + 1
        current.removeAll(keepingCapacity: true)
        oversized = false
        newlines = 0
        state = .fieldStart
        if !blank { try emit(record) }
    }
}

extension String {
    static let shownLimit = 100

    /// The text as a message quotes it: at most 100 characters, so that an answer listing
    /// thousands of row errors never echoes a whole hostile file back.
    var shown: String { count <= Self.shownLimit ? self : String(prefix(Self.shownLimit)) + "…" }
}

/// The limits of one bulk record and its fields.
public enum BulkLimits {
    /// Bytes of one record (a CSV record or an NDJSON line): a valid row, with its 2,000
    /// characters of notes and of evidence URL, fits in well under this.
    public static let recordBytes = 65_536
    /// Columns of a header.
    public static let columns = 32
    /// Row errors one answer reports (the count of rejected rows stays exact).
    public static let reportedErrors = 10_000
    /// Different project codes one request may name (each is looked up once).
    public static let projects = 100
}

/// The fields of one CSV record (RFC 4180): quoted fields may hold commas, doubled quotes and
/// line ends. Returns the reason when the record is malformed.
public enum CSVRecord {
    public static func fields(_ bytes: [UInt8]) -> Result<[String], BulkRecordProblem> {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ",")
        var fields: [String] = []
        var field: [UInt8] = []
        var i = 0
        func end() -> BulkRecordProblem? {
            guard let text = String(validating: field, as: UTF8.self) else { return .notUTF8 }
            fields.append(text)
            field.removeAll(keepingCapacity: true)
            return nil
        }
        while true {
            // At the start of a field.
            if i < bytes.count, bytes[i] == quote {
                i += 1
                var closed = false
                while i < bytes.count {
                    if bytes[i] == quote {
                        if i + 1 < bytes.count, bytes[i + 1] == quote {
                            field.append(quote)
                            i += 2
                            continue
                        }
                        closed = true
                        i += 1
                        break
                    }
                    field.append(bytes[i])
                    i += 1
                }
                guard closed else { return .failure(.unclosedQuote) }
                guard i == bytes.count || bytes[i] == comma else { return .failure(.textAfterQuote) }
            } else {
                while i < bytes.count, bytes[i] != comma {
                    if bytes[i] == quote { return .failure(.quoteInUnquotedField) }
                    field.append(bytes[i])
                    i += 1
                }
            }
            if let problem = end() { return .failure(problem) }
            if i == bytes.count { return .success(fields) }
            i += 1  // the comma
        }
    }
}

/// Why one record cannot be read as a row.
public enum BulkRecordProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case unclosedQuote, unclosedQuoteToTheEnd, textAfterQuote, quoteInUnquotedField, notUTF8
    case fieldCount(found: Int, expected: Int)
    case tooLong(limit: Int)
    case notJSON(String)
    case notAnObject
    case unknownKey(String)
    case notAString(String)
    /// A JSON string whose `\u0000` escape decodes to NUL, which PostgreSQL's text cannot hold.
    case nulCharacter(String)

    public var description: String {
        switch self {
        case .unclosedQuote: "a quoted field is not closed"
        case .unclosedQuoteToTheEnd: "a quoted field opened on this line is never closed: the rest of the file was read into it"
        case .textAfterQuote: "a quoted field must end at a comma or the end of the line"
        case .quoteInUnquotedField: "a quote inside an unquoted field"
        case .notUTF8: "is not valid UTF-8"
        case .fieldCount(let found, let expected): "has \(found) fields; the header has \(expected)"
        case .tooLong(let limit): "is longer than \(limit) bytes"
        case .notJSON(let reason): "is not valid JSON: \(reason)"
        case .notAnObject: "must be a JSON object"
        case .unknownKey(let key): "unknown key \"\(key.shown)\"; keys are \(BulkColumns.all.sorted().joined(separator: ", "))"
        case .notAString(let key): "\(key.shown) must be a string or a number"
        case .nulCharacter(let key): "\(key.shown) must not contain the NUL character"
        }
    }

    /// The column a problem is about, if it names one (a key too long to be a column name
    /// is not echoed back).
    public var field: String? {
        switch self {
        case .unknownKey(let key), .notAString(let key), .nulCharacter(let key): key.count <= String.shownLimit ? key : nil
        default: nil
        }
    }
}

/// What one record of a bulk file is.
public enum BulkEntry: Sendable, Equatable {
    case header([String])
    case row(BulkRow)
    /// A record that is not a row, with its line.
    case unreadable(Int, BulkRecordProblem)
}

/// Turns the records of a bulk file into rows: the CSV header names the columns (any order,
/// unknown or missing columns refuse the whole file); each later record becomes a row, or a
/// problem with its line when it cannot be read.
public struct BulkRowReader: Sendable {
    public let format: BulkFormat
    /// The CSV header's column names, once read.
    public private(set) var columns: [String]?

    public init(format: BulkFormat) {
        self.format = format
    }

    /// The header's columns, a row, or why the record is not a row. Throws for a header that
    /// cannot be used and for a body that is not text: those refuse the whole file.
    public mutating func read(_ record: BulkRecord) throws(BulkFileError) -> BulkEntry {
        if format == .csv, columns == nil {
            let names = try Self.header(record)
            columns = names
            return .header(names)
        }
        if record.oversized {
            return .unreadable(record.line, record.endsInsideQuotes ? .unclosedQuoteToTheEnd : .tooLong(limit: BulkLimits.recordBytes))
        }
        guard !record.bytes.contains(0), String(validating: record.bytes, as: UTF8.self) != nil else {
            throw BulkFileError(line: record.line, message: "is not UTF-8 text; send the file as UTF-8 CSV or NDJSON")
        }
        switch format {
        case .csv:
            let names = columns ?? []
            switch CSVRecord.fields(record.bytes) {
            case .failure(let problem): return .unreadable(record.line, problem)
            case .success(let values):
                guard values.count == names.count else {
                    return .unreadable(record.line, .fieldCount(found: values.count, expected: names.count))
                }
                var fields: [String: String] = [:]
                for (name, value) in zip(names, values) where !value.isEmpty { fields[name] = value }
                return .row(BulkRow(line: record.line, fields: fields))
            }
        case .ndjson:
            let value: JSONValue
            do {
                value = try JSONValue.parse(record.bytes)
            } catch {
                return .unreadable(record.line, .notJSON(error.reason))
            }
            guard case .object(let object) = value else { return .unreadable(record.line, .notAnObject) }
            var fields: [String: String] = [:]
            for (key, v) in object {
                guard BulkColumns.all.contains(key) else { return .unreadable(record.line, .unknownKey(key)) }
                switch v {
                case .null: continue
                case .string(let s):
                    // The raw bytes held no NUL, but a `\u0000` escape decodes to one.
                    guard !s.utf8.contains(0) else { return .unreadable(record.line, .nulCharacter(key)) }
                    fields[key] = s
                case .number(let n): fields[key] = n
                default: return .unreadable(record.line, .notAString(key))
                }
            }
            return .row(BulkRow(line: record.line, fields: fields))
        }
    }

    /// Whether a header is still to come (CSV) before any row.
    public var expectsHeader: Bool { format == .csv && columns == nil }

    static func header(_ record: BulkRecord) throws(BulkFileError) -> [String] {
        guard !record.oversized else { throw BulkFileError(line: record.line, message: "the header is longer than \(BulkLimits.recordBytes) bytes") }
        guard !record.bytes.contains(0), String(validating: record.bytes, as: UTF8.self) != nil else {
            throw BulkFileError(line: record.line, message: "is not UTF-8 text; send the file as UTF-8 CSV or NDJSON")
        }
        let names: [String]
        switch CSVRecord.fields(record.bytes) {
        case .failure(let problem): throw BulkFileError(line: record.line, message: "the header \(problem.description)")
        case .success(let fields): names = fields.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        guard names.count <= BulkLimits.columns else { throw BulkFileError(line: record.line, message: "the header has more than \(BulkLimits.columns) columns") }
        for name in names where !BulkColumns.all.contains(name) {
            throw BulkFileError(line: record.line, message: "unknown column \"\(name)\"; columns are \(BulkColumns.all.sorted().joined(separator: ", "))", field: name)
        }
        if Set(names).count != names.count { throw BulkFileError(line: record.line, message: "a column is named twice") }
        let missing = BulkColumns.required.subtracting(names)
        if !missing.isEmpty {
            throw BulkFileError(line: record.line, message: "missing columns: \(missing.sorted().joined(separator: ", "))", field: missing.sorted()[0])
        }
        return names
    }
}
