import Foundation

/// CSV as RFC 4180 writes it: CRLF line ends; a field holding a comma, a quote, CR or LF is
/// quoted, with its quotes doubled. Shared by the reports, the CLI's listings and its
/// rejected-rows file.
public enum CSVText {
    public static func field(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",")
    }

    public static func document(header: [String], rows: [[String]]) -> String {
        ([header] + rows).map { line($0) + "\r\n" }.joined()
    }
}
