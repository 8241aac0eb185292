import ArgumentParser
import CoalitionDomain
import Foundation

/// How lists are printed: an aligned table (the default, on a terminal or not), a JSON array
/// of the items, or CSV (header and rows, RFC 4180).
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

struct OutputOption: ParsableArguments {
    @Option(name: [.short, .long], help: "Output format: table, json or csv.")
    var output: OutputFormat = .table
}

/// A column of a listing: its header and how to get the cell from an item.
struct Column<Item>: Sendable {
    var header: String
    var cell: @Sendable (Item) -> String
    init(_ header: String, _ cell: @escaping @Sendable (Item) -> any CustomStringConvertible) {
        self.header = header
        self.cell = { cell($0).description }
    }
}

enum Output {
    static func emit<Item: Encodable>(_ items: [Item], _ columns: [Column<Item>], format: OutputFormat) throws {
        switch format {
        case .json: try printJSON(items)
        case .csv: write(csv(header: columns.map(\.header), rows: items.map { item in columns.map { $0.cell(item) } }))
        case .table: write(table(header: columns.map(\.header), rows: items.map { item in columns.map { $0.cell(item) } }))
        }
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        write(String(decoding: try encoder.encode(value), as: UTF8.self) + "\n")
    }

    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Columns padded to their widest cell; the last column is not padded.
    static func table(header: [String], rows: [[String]]) -> String {
        let all = [header.map { $0.uppercased() }] + rows.map { $0.map(oneLine) }
        var widths = Array(repeating: 0, count: header.count)
        for row in all {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        for row in all {
            var line = ""
            for (i, cell) in row.enumerated() {
                line += i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2)
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// RFC 4180 CSV, as the server writes its reports.
    static func csv(header: [String], rows: [[String]]) -> String {
        CSVText.document(header: header, rows: rows)
    }
}
