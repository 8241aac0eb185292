import Foundation
import CoalitionModels

/// Validated server settings, read from flags and the environment (SPEC §5). Pure: the caller
/// passes the environment in, so the rules are tested without a process.
public struct ServerSettings: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// libpq connection string or URI of the app role; empty uses the `PG*` variables.
    public var databaseURL = ""
    /// Connection of the owner role, used to migrate; defaults to `databaseURL`.
    public var ownerDatabaseURL = ""
    /// Connection on which the server LISTENs for changes of who may do what (a session of its
    /// own, straight to PostgreSQL: a transaction-mode pooler cannot carry LISTEN); defaults to
    /// `databaseURL`.
    public var listenDatabaseURL = ""
    /// How long an authenticated token is trusted from memory; 0 asks the database every time.
    public var authCacheSeconds = 10
    public var poolSize = 8
    /// Prepare statements once per connection (off behind a pooler that cannot carry them).
    public var preparedStatements = true
    public var poolAcquireTimeoutMilliseconds = 5_000
    public var statementTimeoutMilliseconds = 30_000
    public var approvalQuorum = 2
    public var logLevel = "info"
    /// `text` (one human line per record) or `json` (one JSON object per line, for collectors).
    public var logFormat = "text"
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes = 1 << 20
    /// Where `NNNN_name.sql` files are; empty: search the usual places.
    public var migrationsDirectory = ""
    /// bcrypt cost of new password hashes (tests use 4 to stay fast).
    public var bcryptCost = 12
    /// Lifetime of a login session token.
    public var sessionHours = 12
    /// Failed logins allowed per email, and per client address, within the window.
    public var loginFailuresPerEmail = 5
    public var loginFailuresPerAddress = 20
    public var loginWindowSeconds = 900
    /// Limits of one bulk upload request.
    public var bulkMaxRows = 50_000
    public var bulkMaxBytes = 64 << 20
    /// The server may wait this long, in all, for the bytes of one request (head to end).
    public var requestReadTimeoutSeconds = 30
    /// A new connection must send its first request's head within this time.
    public var headerTimeoutSeconds = 10
    /// A keep-alive connection with no request in progress is closed after this time.
    public var idleTimeoutSeconds = 60
    /// Limits of a request's header section: bytes in all, and fields (431 beyond).
    public var maxHeaderBytes = 16_384
    public var maxHeaderCount = 100
    /// Connections served at once; further ones wait in the listen backlog.
    public var maxConnections = 1_024
    /// Connections one client address may hold at once; more are closed at once.
    public var maxConnectionsPerAddress = 256
    /// After SIGTERM, in-flight requests get this long before they are cancelled.
    public var shutdownGraceSeconds = 25
    /// After SIGTERM, the server first keeps serving this long while `/health/ready` answers
    /// 503, so that a load balancer stops sending before connections close (0: close at once).
    public var shutdownDelaySeconds = 0
    /// Proxies whose `X-Forwarded-For` names the client (login throttling, audit).
    public var trustedProxies = TrustedProxies.none
    /// PEM certificate chain and key: when both are set the server speaks only HTTPS.
    public var tlsCertificateFile = ""
    public var tlsKeyFile = ""
    /// Extra CA certificates (PEM) trusted for outbound calls, beside the system store.
    public var outboundCAFile = ""
    /// Outbound calls to hosts a client names may reach loopback and private addresses.
    public var outboundAllowPrivate = false
    /// The key (32 bytes) that seals PACT clients' callback secrets at rest; nil when unset.
    public var secretsKey: [UInt8]?

    public var servesTLS: Bool { !tlsCertificateFile.isEmpty }

    public init() {}

    /// An invalid setting: which one and why, in one line.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var name: String
        public var reason: String
        public var description: String { "\(name): \(reason)" }
    }

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Reads the environment variables of SPEC §5 over the defaults.
    public static func fromEnvironment(_ env: [String: String]) throws(Invalid) -> ServerSettings {
        var s = ServerSettings()
        if let v = env["COALITION_HOST"], !v.isEmpty { s.host = v }
        if let v = env["COALITION_PORT"] { s.port = try integer(v, "COALITION_PORT", 0...65535) }
        if let v = env["DATABASE_URL"] { s.databaseURL = v }
        s.ownerDatabaseURL = env["COALITION_OWNER_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? s.databaseURL
        s.listenDatabaseURL = env["COALITION_LISTEN_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? s.databaseURL
        if let v = env["COALITION_AUTH_CACHE_SECONDS"] { s.authCacheSeconds = try integer(v, "COALITION_AUTH_CACHE_SECONDS", 0...300) }
        if let v = env["COALITION_DB_PREPARED_STATEMENTS"] { s.preparedStatements = try boolean(v, "COALITION_DB_PREPARED_STATEMENTS") }
        if let v = env["COALITION_DB_POOL_SIZE"] { s.poolSize = try integer(v, "COALITION_DB_POOL_SIZE", 1...200) }
        if let v = env["COALITION_DB_ACQUIRE_TIMEOUT_MS"] {
            s.poolAcquireTimeoutMilliseconds = try integer(v, "COALITION_DB_ACQUIRE_TIMEOUT_MS", 1...600_000)
        }
        if let v = env["COALITION_STATEMENT_TIMEOUT_MS"] {
            s.statementTimeoutMilliseconds = try integer(v, "COALITION_STATEMENT_TIMEOUT_MS", 0...3_600_000)
        }
        if let v = env["COALITION_APPROVAL_QUORUM"] { s.approvalQuorum = try integer(v, "COALITION_APPROVAL_QUORUM", 1...100) }
        if let v = env["COALITION_LOG_LEVEL"] { s.logLevel = try logLevel(v, "COALITION_LOG_LEVEL") }
        if let v = env["COALITION_LOG_FORMAT"] { s.logFormat = try logFormat(v, "COALITION_LOG_FORMAT") }
        if let v = env["COALITION_MAX_BODY_BYTES"] { s.maxBodyBytes = try integer(v, "COALITION_MAX_BODY_BYTES", 1024...(1 << 30)) }
        if let v = env["COALITION_MIGRATIONS_DIR"] { s.migrationsDirectory = v }
        if let v = env["COALITION_BCRYPT_COST"] { s.bcryptCost = try integer(v, "COALITION_BCRYPT_COST", 4...16) }
        if let v = env["COALITION_SESSION_HOURS"] { s.sessionHours = try integer(v, "COALITION_SESSION_HOURS", 1...720) }
        if let v = env["COALITION_LOGIN_FAILURES_PER_EMAIL"] {
            s.loginFailuresPerEmail = try integer(v, "COALITION_LOGIN_FAILURES_PER_EMAIL", 1...1000)
        }
        if let v = env["COALITION_LOGIN_FAILURES_PER_ADDRESS"] {
            s.loginFailuresPerAddress = try integer(v, "COALITION_LOGIN_FAILURES_PER_ADDRESS", 1...10000)
        }
        if let v = env["COALITION_BULK_MAX_ROWS"] { s.bulkMaxRows = try integer(v, "COALITION_BULK_MAX_ROWS", 1...1_000_000) }
        if let v = env["COALITION_BULK_MAX_BYTES"] { s.bulkMaxBytes = try integer(v, "COALITION_BULK_MAX_BYTES", 1024...(1 << 30)) }
        if let v = env["COALITION_REQUEST_READ_TIMEOUT_SECONDS"] {
            s.requestReadTimeoutSeconds = try integer(v, "COALITION_REQUEST_READ_TIMEOUT_SECONDS", 1...3600)
        }
        if let v = env["COALITION_IDLE_TIMEOUT_SECONDS"] { s.idleTimeoutSeconds = try integer(v, "COALITION_IDLE_TIMEOUT_SECONDS", 1...3600) }
        if let v = env["COALITION_MAX_HEADER_BYTES"] { s.maxHeaderBytes = try integer(v, "COALITION_MAX_HEADER_BYTES", 1024...(1 << 20)) }
        if let v = env["COALITION_MAX_HEADER_COUNT"] { s.maxHeaderCount = try integer(v, "COALITION_MAX_HEADER_COUNT", 8...1000) }
        if let v = env["COALITION_MAX_CONNECTIONS"] { s.maxConnections = try integer(v, "COALITION_MAX_CONNECTIONS", 1...100_000) }
        if let v = env["COALITION_MAX_CONNECTIONS_PER_ADDRESS"] {
            s.maxConnectionsPerAddress = try integer(v, "COALITION_MAX_CONNECTIONS_PER_ADDRESS", 1...100_000)
        }
        if let v = env["COALITION_HEADER_TIMEOUT_SECONDS"] { s.headerTimeoutSeconds = try integer(v, "COALITION_HEADER_TIMEOUT_SECONDS", 1...3600) }
        if let v = env["COALITION_SHUTDOWN_GRACE_SECONDS"] { s.shutdownGraceSeconds = try integer(v, "COALITION_SHUTDOWN_GRACE_SECONDS", 1...600) }
        if let v = env["COALITION_TRUSTED_PROXIES"] {
            switch TrustedProxies.parse(v) {
            case .success(let proxies): s.trustedProxies = proxies
            case .failure(let reason): throw Invalid(name: "COALITION_TRUSTED_PROXIES", reason: reason.description)
            }
        }
        if let v = env["COALITION_SHUTDOWN_DELAY_SECONDS"] { s.shutdownDelaySeconds = try integer(v, "COALITION_SHUTDOWN_DELAY_SECONDS", 0...300) }
        if let v = env["COALITION_LOGIN_WINDOW_SECONDS"] { s.loginWindowSeconds = try integer(v, "COALITION_LOGIN_WINDOW_SECONDS", 1...86400) }
        s.tlsCertificateFile = env["COALITION_TLS_CERT_FILE"] ?? ""
        s.tlsKeyFile = env["COALITION_TLS_KEY_FILE"] ?? ""
        if s.tlsCertificateFile.isEmpty != s.tlsKeyFile.isEmpty {
            throw Invalid(name: s.tlsKeyFile.isEmpty ? "COALITION_TLS_KEY_FILE" : "COALITION_TLS_CERT_FILE",
                          reason: "COALITION_TLS_CERT_FILE and COALITION_TLS_KEY_FILE go together")
        }
        s.outboundCAFile = env["COALITION_OUTBOUND_CA_FILE"] ?? ""
        if let v = env["COALITION_OUTBOUND_ALLOW_PRIVATE"] { s.outboundAllowPrivate = try boolean(v, "COALITION_OUTBOUND_ALLOW_PRIVATE") }
        if let v = env["COALITION_SECRETS_KEY"], !v.isEmpty {
            guard let key = Data(base64Encoded: v), key.count == 32 else {
                throw Invalid(name: "COALITION_SECRETS_KEY", reason: "must be 32 bytes in base64 (openssl rand -base64 32)")
            }
            s.secretsKey = Array(key)
        }
        return s
    }

    public static func integer(_ text: String, _ name: String, _ range: ClosedRange<Int>) throws(Invalid) -> Int {
        guard let value = Int(text.trimmingSpaces()) else {
            throw Invalid(name: name, reason: "expected a whole number, got \"\(text)\"")
        }
        guard range.contains(value) else {
            throw Invalid(name: name, reason: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    public static func boolean(_ text: String, _ name: String) throws(Invalid) -> Bool {
        switch text.trimmingSpaces().lowercased() {
        case "true", "on", "yes", "1": return true
        case "false", "off", "no", "0": return false
        default: throw Invalid(name: name, reason: "expected true or false, got \"\(text)\"")
        }
    }

    public static func logFormat(_ text: String, _ name: String) throws(Invalid) -> String {
        let format = text.trimmingSpaces().lowercased()
        guard format == "text" || format == "json" else {
            throw Invalid(name: name, reason: "expected text or json, got \"\(text)\"")
        }
        return format
    }

    public static func logLevel(_ text: String, _ name: String) throws(Invalid) -> String {
        let level = text.lowercased()
        guard logLevels.contains(level) else {
            throw Invalid(name: name, reason: "expected one of \(logLevels.joined(separator: ", ")), got \"\(text)\"")
        }
        return level
    }
}

extension String {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
