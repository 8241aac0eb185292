import CoalitionDomain
import CoalitionModels
import Foundation
import Logging
import PQ

/// The database as the service sees it: transactions that carry the caller for row-level
/// security, and the SQL of each aggregate (in the `StoreTransaction` extensions).
public struct Store: Sendable {
    public let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    /// Runs `body` in a transaction whose first statement sets the caller (transaction-local
    /// `set_config`), so every policy sees who is asking. BEGIN and the caller travel in one
    /// flight with the body's first statement. `concluding`: the body's `final…` statement may
    /// carry the COMMIT (false when the caller still writes in the transaction after the body).
    @discardableResult
    public func transaction<T>(
        as caller: Caller?, isolation: IsolationLevel = .readCommitted, concluding: Bool = true,
        _ body: (StoreTransaction) async throws -> T
    ) async throws -> T {
        try await pool.transaction(isolation: isolation, setup: Self.callerSettings(caller)) { connection in
            try await body(StoreTransaction(connection: connection, caller: caller, concludes: concluding))
        }
    }

    /// As `transaction`, but `body` decides whether its work is kept: `.commit(value)` commits,
    /// `.rollback(value)` rolls back and still answers (a dry run, an all-or-nothing batch).
    public func settledTransaction<T>(
        as caller: Caller?, isolation: IsolationLevel = .readCommitted, _ body: (StoreTransaction) async throws -> Settlement<T>
    ) async throws -> T {
        try await pool.settledTransaction(isolation: isolation, setup: Self.callerSettings(caller)) { connection in
            try await body(StoreTransaction(connection: connection, caller: caller, concludes: false))
        }
    }

    /// Runs a read-only `body` for `caller` in one flight per statement: the caller's settings
    /// (and `transaction_read_only`) travel ahead of each statement, without BEGIN or COMMIT
    /// (`Connection.reading`). For reads whose statements need no common snapshot.
    public func read<T>(as caller: Caller?, _ body: (StoreTransaction) async throws -> T) async throws -> T {
        try await pool.reading(setup: Self.callerSettings(caller, readOnly: true)) { connection in
            try await body(StoreTransaction(connection: connection, caller: caller, concludes: false))
        }
    }

    /// Runs `body` without a transaction and without a caller: for single anonymous statements
    /// (token lookup), one round trip instead of three. Caller settings are transaction-local,
    /// so a leased connection never carries an earlier request's caller.
    public func withoutCaller<T>(_ body: (StoreTransaction) async throws -> T) async throws -> T {
        try await pool.withConnection { connection in
            try await body(StoreTransaction(connection: connection, caller: nil, concludes: false))
        }
    }

    /// The statement that sets the caller (transaction-local settings that row-level security
    /// reads); one text for every caller, so that it is prepared once per connection.
    static func callerSettings(_ caller: Caller?, readOnly: Bool = false) -> SQL {
        let user = caller?.userID.uuidString.lowercased() ?? ""
        let org = caller?.organizationID.uuidString.lowercased() ?? ""
        let role = caller?.role.rawValue ?? ""
        return """
            SELECT set_config('coalition.user_id', \(user), true), set_config('coalition.organization_id', \(org), true),
                   set_config('coalition.role', \(role), true)\(unescaped: readOnly ? ", set_config('transaction_read_only', 'on', true)" : "")
            """
    }
}

/// One transaction of a request, with its caller.
public struct StoreTransaction: Sendable {
    public let connection: Connection
    public let caller: Caller?
    /// Whether the body's last statement may commit the transaction (`finalQuery`).
    let concludes: Bool

    init(connection: Connection, caller: Caller?, concludes: Bool) {
        self.connection = connection
        self.caller = caller
        self.concludes = concludes
    }

    @discardableResult
    public func query(_ sql: SQL) async throws -> QueryResult { try await connection.query(sql) }

    /// The body's last statement: COMMIT travels in its flight when nothing follows the body in
    /// this transaction. After it, the body must not use this transaction again.
    @discardableResult
    public func finalQuery(_ sql: SQL) async throws -> QueryResult {
        concludes ? try await connection.queryAndCommit(sql) : try await connection.query(sql)
    }

    /// Runs `body` in this transaction, or, when a `final…` statement has ended it, in a new
    /// one for the same caller (whose own `final…` statement commits it): for the rare
    /// follow-up read after a concluding write.
    public func continuing<T>(_ body: (StoreTransaction) async throws -> T) async throws -> T {
        if connection.inTransaction { return try await body(self) }
        return try await connection.transaction(setup: Store.callerSettings(caller)) { connection in
            try await body(StoreTransaction(connection: connection, caller: caller, concludes: true))
        }
    }

    /// The rest of this transaction acts for `caller`, as row-level security sees it: for the
    /// owner's own commands (seed-demo), which write on behalf of many users in one transaction.
    public func acting(as caller: Caller) async throws -> StoreTransaction {
        try await connection.query(Store.callerSettings(caller))
        return StoreTransaction(connection: connection, caller: caller, concludes: false)
    }

    /// Appends an audit entry in this transaction: it is stored exactly when the change is.
    public func audit(_ action: String, entity: String, id: String?, data: [String: JSONValue] = [:], caller override: Caller? = nil) async throws {
        let who = override ?? caller
        try await connection.execute("""
            INSERT INTO audit_log (actor_user_id, actor_organization_id, action, entity, entity_id, data)
            VALUES (\(who?.userID), \(who?.organizationID), \(action), \(entity), \(id), \(try PQJSON(encoding: data)))
            """)
    }
}

/// A failure the API answers with 409: a unique key already taken, named by field.
public struct Conflict: Error, Sendable, Equatable {
    public var field: String
    public var message: String
}

extension PQError {
    /// Maps the unique constraints callers can hit to the field they name.
    public var conflict: Conflict? {
        guard condition == .uniqueViolation else { return nil }
        switch constraint {
        case "organizations_slug_key": return Conflict(field: "slug", message: "an organization with this slug exists")
        case "users_email_key": return Conflict(field: "email", message: "a user with this email exists")
        case "projects_code_key": return Conflict(field: "code", message: "a project with this code exists")
        case "milestones_key_key": return Conflict(field: "key", message: "this project has a milestone with this key")
        default: return Conflict(field: constraint ?? "", message: "already exists")
        }
    }
}

/// Opaque cursors of keyset pagination: base64url of the last row's sort key.
public enum Cursor {
    public static func encode(_ key: String) -> String {
        Data(key.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ cursor: String) -> String? {
        var text = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
