/// A column of a result: its name and type.
public struct PQColumn: Sendable, Hashable {
    public var name: String
    public var type: PQType
}

/// The rows of one statement, copied out of libpq before its `PGresult` was cleared.
///
/// Cell bytes live in one contiguous buffer (text format), so a 100k-row result costs three
/// allocations, not one per cell.
public struct QueryResult: Sendable, RandomAccessCollection {
    public let columns: [PQColumn]
    /// Rows changed by INSERT/UPDATE/DELETE/COPY (from the command tag), else the row count.
    public let affectedRows: Int
    let storage: [UInt8]
    /// Per cell: start offset in `storage`, or -1 for NULL; row-major.
    let starts: [Int]
    let lengths: [Int32]
    let columnIndex: [String: Int]
    public let count: Int
    /// The command tag (`COMMIT`, `INSERT 0 1`), where the caller asked for it.
    let commandTag: String?

    /// No rows, no columns: what a statement that returned nothing leaves.
    static let empty = QueryResult(columns: [], affectedRows: 0, rowCount: 0, storage: [], starts: [], lengths: [])

    init(
        columns: [PQColumn], affectedRows: Int, rowCount: Int, storage: [UInt8], starts: [Int], lengths: [Int32],
        commandTag: String? = nil
    ) {
        self.commandTag = commandTag
        self.columns = columns
        self.affectedRows = affectedRows
        self.count = rowCount
        self.storage = storage
        self.starts = starts
        self.lengths = lengths
        var index: [String: Int] = [:]
        for (i, c) in columns.enumerated() where index[c.name] == nil { index[c.name] = i }
        self.columnIndex = index
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    public subscript(position: Int) -> Row { Row(result: self, index: position) }

    /// The first row, if any.
    public var firstRow: Row? { isEmpty ? nil : self[0] }
}

/// One row of a `QueryResult`; decode columns by name or position.
public struct Row: Sendable {
    let result: QueryResult
    let index: Int

    public var columns: [PQColumn] { result.columns }

    public func isNull(_ column: Int) -> Bool { result.starts[index * result.columns.count + column] < 0 }

    /// Decodes the column named `name`; throws when it is missing, NULL (unless `T` is optional),
    /// of another type, or unparsable. Errors name the column.
    public func decode<T: PQDecodable>(_ name: String, as type: T.Type = T.self) throws(PQError) -> T {
        guard let i = result.columnIndex[name] else {
            throw PQError(.missingColumn, message: "the result has no column \(name)", column: name)
        }
        return try decode(i, as: type)
    }

    public func decode<T: PQDecodable>(_ column: Int, as type: T.Type = T.self) throws(PQError) -> T {
        let width = result.columns.count
        guard column >= 0, column < width else {
            throw PQError(.missingColumn, message: "the result has no column at index \(column)")
        }
        let meta = result.columns[column]
        let cell = index * width + column
        let start = result.starts[cell]
        if start < 0 { return try T.decodeNull(column: meta.name) }
        guard T.acceptedTypes.contains(meta.type) else {
            throw PQError(
                .typeMismatch,
                message: "column \(meta.name) is \(meta.type), which cannot be decoded as \(T.self)",
                column: meta.name)
        }
        let bytes = result.storage[start..<(start + Int(result.lengths[cell]))]
        guard let value = T.decode(pqText: bytes, type: meta.type) else {
            throw PQError(.invalidValue, message: "column \(meta.name) holds a value that is not a valid \(T.self)", column: meta.name)
        }
        return value
    }
}
