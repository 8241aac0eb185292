/// An error from the database layer.
///
/// Descriptions never carry parameter values or passwords: server messages whose text can echo
/// a bound value (data exceptions, constraint details) are reduced to their SQLSTATE and names.
public struct PQError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, at the level a caller acts on.
    public enum Kind: Sendable, Equatable {
        /// Could not connect, or the connection broke.
        case connection
        /// The server refused a statement; `sqlstate` says why.
        case server
        /// A column's type does not match the Swift type asked for.
        case typeMismatch
        /// A NULL where a non-optional value was asked for.
        case unexpectedNull
        /// A column name or index that the result does not have.
        case missingColumn
        /// A text value the server sent could not be parsed.
        case invalidValue
        /// No connection became free within the pool's acquire timeout.
        case poolTimeout
        /// The pool was shut down.
        case poolClosed
        /// The task was cancelled and the running statement with it.
        case cancelled
        /// COPY or another protocol step failed.
        case protocolViolation
        /// A connection string that libpq cannot parse.
        case invalidConnectionString
    }

    public var kind: Kind
    /// Five-character SQLSTATE for `.server` errors (and some connection errors).
    public var sqlState: String?
    public var constraint: String?
    public var table: String?
    public var column: String?
    /// Safe, human-readable text: never parameter values, never passwords.
    public var message: String

    public init(
        _ kind: Kind, message: String, sqlState: String? = nil,
        constraint: String? = nil, table: String? = nil, column: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.constraint = constraint
        self.table = table
        self.column = column
    }

    /// One line (libpq's messages span several), for logs.
    public var description: String {
        var parts = [message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")]
        if let sqlState { parts.append("SQLSTATE \(sqlState)") }
        if let table { parts.append("table \(table)") }
        if let column { parts.append("column \(column)") }
        if let constraint { parts.append("constraint \(constraint)") }
        return parts.joined(separator: "; ")
    }

    /// The condition named by the SQLSTATE, for the states callers branch on.
    public var condition: SQLState? { sqlState.flatMap(SQLState.init(rawValue:)) }

    /// True for failures that a new attempt of the whole transaction may not hit again.
    public var isRetryableTransactionFailure: Bool {
        condition == .serializationFailure || condition == .deadlockDetected
    }
}

/// SQLSTATE codes the application branches on.
public enum SQLState: String, Sendable {
    case uniqueViolation = "23505"
    case foreignKeyViolation = "23503"
    case checkViolation = "23514"
    case notNullViolation = "23502"
    case exclusionViolation = "23P01"
    case serializationFailure = "40001"
    case deadlockDetected = "40P01"
    case queryCanceled = "57014"
    case adminShutdown = "57P01"
    case lockNotAvailable = "55P03"
    case undefinedTable = "42P01"
    case insufficientPrivilege = "42501"
    case invalidTextRepresentation = "22P02"
    case numericValueOutOfRange = "22003"
    case raiseException = "P0001"
}

extension PQError {
    /// A generic text for a SQLSTATE class; used where the server's own message may echo data.
    static func safeMessage(sqlState: String, serverMessage: String) -> String {
        if let known = SQLState(rawValue: sqlState) {
            switch known {
            case .uniqueViolation: return "unique violation"
            case .foreignKeyViolation: return "foreign key violation"
            case .checkViolation: return "check constraint violation"
            case .notNullViolation: return "not-null violation"
            case .exclusionViolation: return "exclusion violation"
            case .serializationFailure: return "serialization failure"
            case .deadlockDetected: return "deadlock detected"
            case .queryCanceled: return "statement cancelled (cancel request or statement_timeout)"
            case .adminShutdown: return "connection terminated by the server"
            case .lockNotAvailable: return "lock not available"
            case .insufficientPrivilege: return serverMessage
            case .undefinedTable: return serverMessage
            case .invalidTextRepresentation: return "invalid text representation of a parameter"
            case .numericValueOutOfRange: return "numeric value out of range"
            case .raiseException: return serverMessage
            }
        }
        switch sqlState.prefix(2) {
        // Syntax errors and access rule violations describe the SQL text, not the data.
        case "42", "0A", "3D", "3F", "28", "08", "53", "57", "55", "25", "2B", "2D", "40", "P0":
            return serverMessage
        case "22": return "data exception"
        case "23": return "integrity constraint violation"
        default: return "database error"
        }
    }
}
