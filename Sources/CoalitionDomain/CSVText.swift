import Foundation

/// CSV as RFC 4180 writes it: CRLF line ends; a field holding a comma, a quote, CR or LF is
/// quoted, with its quotes doubled. Shared by the reports, the CLI's listings and its
/// rejected-rows file.
public enum CSVText {
    public static func field(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        append(field: s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends one field's bytes by the same rule. With `quotingEmpty` an empty string is
    /// written `""`: PostgreSQL's `COPY … (FORMAT csv)` reads a bare empty field as NULL.
    public static func append(field s: String, to out: inout [UInt8], quotingEmpty: Bool = false) {
        let quote = UInt8(ascii: "\"")
        let utf8 = s.utf8
        let special = utf8.contains { $0 == UInt8(ascii: ",") || $0 == quote || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }
        guard special || (quotingEmpty && utf8.isEmpty) else {
            out.append(contentsOf: utf8)
            return
        }
        out.append(quote)
        for byte in utf8 {
            if byte == quote { out.append(quote) }
            out.append(byte)
        }
        out.append(quote)
    }

    public static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",")
    }

    public static func document(header: [String], rows: [[String]]) -> String {
        ([header] + rows).map { line($0) + "\r\n" }.joined()
    }
}
