import CoalitionModels
import Foundation

/// One data row of a bulk upload, by column name, with its line number in the file.
public struct BulkRow: Sendable, Equatable {
    public var line: Int
    public var fields: [String: String]
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

/// The columns of SPEC §4.
public enum BulkColumns {
    public static let all: Set<String> = [
        "project", "milestone", "organization", "period_start", "period_end", "value", "unit", "notes", "evidence_url", "external_ref",
    ]
    public static let required: Set<String> = ["project", "milestone", "period_start", "period_end", "value", "unit"]
}

/// RFC 4180 CSV: quoted fields with embedded commas, quotes and newlines, CRLF or LF, an
/// optional UTF-8 BOM, a header row naming the columns in any order. Line numbers count the
/// header as line 1 and follow physical lines (a quoted newline moves the count on).
public enum CSVFile {
    public static func parse(_ bytes: [UInt8]) throws(BulkFileError) -> [BulkRow] {
        var records: [(line: Int, fields: [String])] = []
        var i = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        var line = 1
        var field: [UInt8] = []
        var fields: [String] = []
        var recordLine = 1
        var inQuotes = false
        var atFieldStart = true
        var sawAnything = false
        func endField() throws(BulkFileError) {
            guard let text = String(validating: field, as: UTF8.self) else { throw BulkFileError(line: line, message: "is not valid UTF-8") }
            fields.append(text)
            field.removeAll(keepingCapacity: true)
            atFieldStart = true
        }
        while i < bytes.count {
            let c = bytes[i]
            if inQuotes {
                if c == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\"") { field.append(c); i += 2; continue }
                    inQuotes = false
                    i += 1
                    if i < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[i]) {
                        throw BulkFileError(line: line, message: "a quoted field must end at a comma or the end of the line")
                    }
                    continue
                }
                if c == UInt8(ascii: "\n") { line += 1 }
                field.append(c)
                i += 1
                continue
            }
            switch c {
            case UInt8(ascii: "\""):
                guard atFieldStart, field.isEmpty else { throw BulkFileError(line: line, message: "a quote inside an unquoted field") }
                inQuotes = true
                atFieldStart = false
                sawAnything = true
            case UInt8(ascii: ","):
                try endField()
                sawAnything = true
            case UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                if c == UInt8(ascii: "\r"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\n") { i += 1 }
                if sawAnything || !fields.isEmpty || !field.isEmpty {
                    try endField()
                    records.append((recordLine, fields))
                }
                fields.removeAll()
                sawAnything = false
                line += 1
                recordLine = line
            default:
                field.append(c)
                atFieldStart = false
                sawAnything = true
            }
            i += 1
        }
        if inQuotes { throw BulkFileError(line: recordLine, message: "a quoted field is not closed") }
        if sawAnything || !fields.isEmpty || !field.isEmpty {
            try endField()
            records.append((recordLine, fields))
        }
        guard let header = records.first else { throw BulkFileError(line: 1, message: "the file is empty; a header row is required") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        for name in names where !BulkColumns.all.contains(name) {
            throw BulkFileError(line: 1, message: "unknown column \"\(name)\"; columns are \(BulkColumns.all.sorted().joined(separator: ", "))", field: name)
        }
        if Set(names).count != names.count { throw BulkFileError(line: 1, message: "a column is named twice") }
        let missing = BulkColumns.required.subtracting(names)
        if !missing.isEmpty {
            throw BulkFileError(line: 1, message: "missing columns: \(missing.sorted().joined(separator: ", "))", field: missing.sorted()[0])
        }
        return try records.dropFirst().map { record throws(BulkFileError) in
            guard record.fields.count == names.count else {
                throw BulkFileError(line: record.line, message: "has \(record.fields.count) fields; the header has \(names.count)")
            }
            var row: [String: String] = [:]
            for (name, value) in zip(names, record.fields) where !value.isEmpty { row[name] = value }
            return BulkRow(line: record.line, fields: row)
        }
    }
}

/// Newline-delimited JSON: one object per line, keys from the same columns; blank lines skipped.
public enum NDJSONFile {
    public static func parse(_ bytes: [UInt8]) throws(BulkFileError) -> [BulkRow] {
        var rows: [BulkRow] = []
        var line = 0
        for chunk in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            line += 1
            var slice = chunk[...]
            if slice.last == UInt8(ascii: "\r") { slice = slice.dropLast() }
            if slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let value: JSONValue
            do {
                value = try JSONValue.parse(Array(slice))
            } catch {
                throw BulkFileError(line: line, message: "is not valid JSON: \(error.reason)")
            }
            guard case .object(let object) = value else { throw BulkFileError(line: line, message: "must be a JSON object") }
            var fields: [String: String] = [:]
            for (key, v) in object {
                guard BulkColumns.all.contains(key) else {
                    throw BulkFileError(line: line, message: "unknown key \"\(key)\"; keys are \(BulkColumns.all.sorted().joined(separator: ", "))", field: key)
                }
                switch v {
                case .null: continue
                case .string(let s): fields[key] = s
                case .number(let n): fields[key] = n
                default: throw BulkFileError(line: line, message: "\(key) must be a string or a number")
                }
            }
            rows.append(BulkRow(line: line, fields: fields))
        }
        return rows
    }
}
