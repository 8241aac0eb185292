/// The answer to `POST /v1/submissions/bulk` (SPEC §4).
public struct BulkReport: Codable, Sendable, Equatable {
    public struct RowError: Codable, Sendable, Equatable {
        public var line: Int
        public var field: String
        public var message: String
        public init(line: Int, field: String, message: String) {
            self.line = line
            self.field = field
            self.message = message
        }
    }

    public var accepted: Int
    public var unchanged: Int
    public var rejected: Int
    public var errors: [RowError]
    /// False when nothing was stored: a dry run, or an atomic upload with a rejected row.
    public var stored: Bool

    public init(accepted: Int, unchanged: Int, rejected: Int, errors: [RowError], stored: Bool) {
        self.accepted = accepted
        self.unchanged = unchanged
        self.rejected = rejected
        self.errors = errors
        self.stored = stored
    }
}
