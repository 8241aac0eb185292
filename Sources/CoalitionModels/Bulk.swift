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
    /// Row errors left out of `errors` past the reporting limit (`rejected` counts every row).
    public var errorsOmitted: Int

    enum CodingKeys: String, CodingKey {
        case accepted, unchanged, rejected, errors, stored
        case errorsOmitted = "errors_omitted"
    }

    public init(accepted: Int, unchanged: Int, rejected: Int, errors: [RowError], stored: Bool, errorsOmitted: Int = 0) {
        self.accepted = accepted
        self.unchanged = unchanged
        self.rejected = rejected
        self.errors = errors
        self.stored = stored
        self.errorsOmitted = errorsOmitted
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        accepted = try c.decode(Int.self, forKey: .accepted)
        unchanged = try c.decode(Int.self, forKey: .unchanged)
        rejected = try c.decode(Int.self, forKey: .rejected)
        errors = try c.decode([RowError].self, forKey: .errors)
        stored = try c.decode(Bool.self, forKey: .stored)
        errorsOmitted = try c.decodeIfPresent(Int.self, forKey: .errorsOmitted) ?? 0
    }
}
