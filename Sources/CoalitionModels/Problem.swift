/// An RFC 9457 problem document (`application/problem+json`), the body of every error answer.
public struct Problem: Codable, Sendable, Equatable, Error {
    /// One invalid input: which field and why.
    public struct FieldError: Codable, Sendable, Equatable {
        public var field: String
        public var message: String
        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public var type: String
    public var title: String
    public var status: Int
    public var detail: String?
    public var instance: String?
    public var errors: [FieldError]?
    /// The request id, so that a user can quote it and an operator find the log lines.
    public var requestID: String?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, instance, errors
        case requestID = "request_id"
    }

    public init(
        status: Int, title: String, detail: String? = nil, type: String? = nil,
        errors: [FieldError]? = nil, instance: String? = nil, requestID: String? = nil
    ) {
        self.type = type ?? "about:blank"
        self.title = title
        self.status = status
        self.detail = detail
        self.errors = errors
        self.instance = instance
        self.requestID = requestID
    }

    /// The media type of problem documents.
    public static let mediaType = "application/problem+json"
}
