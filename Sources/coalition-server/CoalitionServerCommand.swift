import ArgumentParser
import CoalitionAPI
import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Logging
import Metrics
import PQ
import NIOCore
import Prometheus
import ServiceLifecycle
import UnixSignals

@main
struct CoalitionServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coalition-server",
        abstract: "The Coalition collaboration server.",
        version: CoalitionVersion.current,
        subcommands: [Serve.self, Migrate.self, Bootstrap.self, SeedDemo.self, AuditVerify.self, PACTClients.self],
        defaultSubcommand: Serve.self)
}

/// Flags shared by every subcommand; each overrides its environment variable.
struct ServerOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "libpq connection string or URI of the app role (env DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("owner-database-url"), help: "Connection of the owner role, for migrations (env COALITION_OWNER_DATABASE_URL; default: --database-url).")
    var ownerDatabaseURL: String?

    @Option(name: .customLong("migrations-dir"), help: "Directory of NNNN_name.sql files (env COALITION_MIGRATIONS_DIR).")
    var migrationsDirectory: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env COALITION_LOG_LEVEL).")
    var logLevel: String?

    func settings() throws -> ServerSettings {
        var s = try ServerSettings.fromEnvironment(ProcessInfo.processInfo.environment)
        if let databaseURL {
            s.databaseURL = databaseURL
            if ownerDatabaseURL == nil, ProcessInfo.processInfo.environment["COALITION_OWNER_DATABASE_URL"] == nil {
                s.ownerDatabaseURL = databaseURL
            }
            if ProcessInfo.processInfo.environment["COALITION_LISTEN_DATABASE_URL"]?.isEmpty ?? true { s.listenDatabaseURL = databaseURL }
        }
        if let ownerDatabaseURL { s.ownerDatabaseURL = ownerDatabaseURL }
        if let migrationsDirectory { s.migrationsDirectory = migrationsDirectory }
        if let logLevel { s.logLevel = try ServerSettings.logLevel(logLevel, "--log-level") }
        return s
    }
}

/// Prints one line to standard error and exits with status 1: the form of every runtime
/// failure of the server's commands (bad settings, unreachable database, pending migrations).
struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

func runReportingFailures(_ body: () async throws -> Void) async throws {
    // libpq waits for an unreachable host as long as TCP does (minutes) unless told otherwise;
    // a connection string's connect_timeout, or the operator's PGCONNECT_TIMEOUT, still wins.
    setenv("PGCONNECT_TIMEOUT", "10", 0)
    do {
        try await body()
    } catch let failure as Failure {
        FileHandle.standardError.write(Data("coalition-server: \(failure.description)\n".utf8))
        throw ExitCode.failure
    } catch let invalid as ServerSettings.Invalid {
        FileHandle.standardError.write(Data("coalition-server: invalid setting \(invalid.description)\n".utf8))
        throw ExitCode.failure
    } catch let error as PQError {
        FileHandle.standardError.write(Data("coalition-server: \(describe(error))\n".utf8))
        throw ExitCode.failure
    } catch let error as MigrationError {
        FileHandle.standardError.write(Data("coalition-server: \(error.description)\n".utf8))
        throw ExitCode.failure
    }
}

/// One line naming what to fix for a database error at startup.
func describe(_ error: PQError) -> String {
    let message = error.message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    switch error.kind {
    case .invalidConnectionString:
        return "\(message) (check DATABASE_URL or --database-url)"
    case .connection:
        return "cannot connect to the database: \(message) (check DATABASE_URL, that PostgreSQL is running, and the credentials)"
    default:
        return "database error: \(error.description)"
    }
}

func makeLogger(_ settings: ServerSettings, label: String) -> Logger {
    let level = Logger.Level(rawValue: settings.logLevel) ?? .info
    if settings.logFormat == "json" {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    } else {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
    return Logger(label: label)
}

func loadMigrations(_ settings: ServerSettings) throws -> [Migration] {
    guard let directory = MigrationSource.locate(explicit: settings.migrationsDirectory) else {
        throw Failure("cannot find the sql/migrations directory; set COALITION_MIGRATIONS_DIR or --migrations-dir")
    }
    return try MigrationSource.load(from: directory)
}

func pool(_ conninfo: String, _ settings: ServerSettings, size: Int, label: String, logger: Logger) throws -> ConnectionPool {
    try ConnectionString.validate(conninfo)
    return ConnectionPool(
        PoolConfiguration(
            conninfo: conninfo, maximumConnections: size,
            acquireTimeout: .milliseconds(settings.poolAcquireTimeoutMilliseconds),
            session: SessionSettings(
                statementTimeoutMilliseconds: settings.statementTimeoutMilliseconds, preparesStatements: settings.preparedStatements),
            metricsLabel: label),
        logger: logger)
}

/// Runs `body` with a pool of its own, closed afterwards whatever happens: the one-shot
/// commands' way to the database.
func withPool<T>(
    _ conninfo: String, _ settings: ServerSettings, label: String, logger: Logger, _ body: (ConnectionPool) async throws -> T
) async throws -> T {
    let opened = try pool(conninfo, settings, size: 1, label: label, logger: logger)
    do {
        let result = try await body(opened)
        await opened.close()
        return result
    } catch {
        await opened.close()
        throw error
    }
}

/// Applies pending migrations as the owner role.
func applyMigrations(_ migrator: Migrator, _ settings: ServerSettings, logger: Logger) async throws -> [Migration] {
    try await withPool(settings.ownerDatabaseURL, settings, label: "migrate", logger: logger) { owner in
        try await owner.withConnection { try await migrator.migrate($0) }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the HTTP API.")

    @OptionGroup var options: ServerOptions

    @Option(help: "Address to bind (env COALITION_HOST).") var host: String?
    @Option(help: "Port to bind; 0 picks a free one (env COALITION_PORT).") var port: Int?
    @Option(name: .customLong("pool-size"), help: "Database connections (env COALITION_DB_POOL_SIZE).") var poolSize: Int?
    @Flag(help: "Apply pending migrations (as the owner role) before serving.") var migrate = false

    func run() async throws {
        try await runReportingFailures {
            var settings = try options.settings()
            if let host { settings.host = host }
            if let port { settings.port = try ServerSettings.integer(String(port), "--port", 0...65535) }
            if let poolSize { settings.poolSize = try ServerSettings.integer(String(poolSize), "--pool-size", 1...200) }
            let logger = makeLogger(settings, label: "coalition")
            // Before the pool exists, so that its gauges register with Prometheus.
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let migrator = Migrator(migrations: try loadMigrations(settings), logger: logger)
            if migrate {
                let applied = try await applyMigrations(migrator, settings, logger: logger)
                logger.info("migrations applied", metadata: ["count": "\(applied.count)"])
            }
            let database = try pool(settings.databaseURL, settings, size: settings.poolSize, label: "main", logger: logger)
            let pending: [Int]
            do {
                pending = try await database.withConnection { try await migrator.pendingVersions($0) }
            } catch {
                await database.close()
                throw error
            }
            guard pending.isEmpty else {
                await database.close()
                throw Failure("\(pending.count) migration(s) pending (first \(pending[0])); run `coalition-server migrate` or start with --migrate")
            }
            do {
                try await Store(pool: database).checkServingRole()
            } catch let refusal as ServingRoleRefusal {
                await database.close()
                throw Failure(refusal.description)
            }
            let bound = settings
            let env = APIEnvironment(
                store: Store(pool: database), passwords: PasswordHasher(cost: settings.bcryptCost), settings: settings, migrator: migrator)
            if settings.servesTLS {
                do {
                    try CoalitionApplication.checkTLS(settings)
                } catch {
                    await database.close()
                    throw Failure("cannot use the TLS certificate or key (COALITION_TLS_CERT_FILE, COALITION_TLS_KEY_FILE): \(error)")
                }
            }
            let app = try CoalitionApplication.build(env: env, registry: registry, logger: logger) { channel in
                let port = channel.localAddress?.port ?? bound.port
                // A stable line on stdout that scripts and tests wait for.
                let scheme = bound.servesTLS ? "https" : "http"
                FileHandle.standardOutput.write(Data("coalition-server listening on \(scheme)://\(bound.host):\(port)\n".utf8))
            }
            try await serve(app, settings: settings, draining: env.draining, logger: logger)
        }
    }
}

/// Runs the server until SIGTERM or SIGINT: in-flight requests get the grace period to finish,
/// then are cancelled. With a shutdown delay the server first keeps serving that long while
/// readiness answers 503, so that a load balancer stops sending before connections close (a
/// second signal ends the delay). A port that cannot be bound ends the process at once with one
/// line.
func serve(_ app: some Service, settings: ServerSettings, draining: Draining, logger: Logger) async throws {
    let delay = settings.shutdownDelaySeconds
    var configuration = ServiceGroupConfiguration(
        services: [app], gracefulShutdownSignals: delay > 0 ? [] : [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = .seconds(settings.shutdownGraceSeconds)
    configuration.maximumCancellationDuration = .seconds(5)
    let group = ServiceGroup(configuration: configuration)
    do {
        // Each task says whether it was the server's run: only its end ends the signal watch.
        // The signals are trapped before the server starts listening: a SIGTERM that came
        // between the two would otherwise end the process on the spot.
        let trapped = delay > 0 ? await UnixSignalsSequence(trapping: .sigterm, .sigint) : nil
        try await withThrowingTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                try await group.run()
                return true
            }
            if let signals = trapped {
                tasks.addTask {
                    await withTaskGroup(of: Void.self) { watch in
                        for await signal in signals {
                            // A second signal ends the delay (the drain itself still runs its course).
                            if draining.isDraining {
                                await group.triggerGracefulShutdown()
                                continue
                            }
                            draining.begin()
                            logger.notice("shutting down: serving \(delay) s more while readiness answers 503", metadata: ["signal": "\(signal)"])
                            watch.addTask {
                                try? await Task.sleep(for: .seconds(delay))
                                await group.triggerGracefulShutdown()
                            }
                        }
                    }
                    return false
                }
            }
            while let serverEnded = try await tasks.next() {
                if serverEnded {
                    tasks.cancelAll()
                    break
                }
            }
        }
    } catch let error as IOError {
        let address = "\(settings.host):\(settings.port)"
        switch error.errnoCode {
        case EADDRINUSE: throw Failure("cannot listen on \(address): the address is in use (is another server running on port \(settings.port)?)")
        case EACCES: throw Failure("cannot listen on \(address): permission denied (ports below 1024 need privileges)")
        case EADDRNOTAVAIL: throw Failure("cannot listen on \(address): no such local address (check COALITION_HOST)")
        default: throw Failure("cannot listen on \(address): \(error)")
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations as the owner role, or show their state.")

    @OptionGroup var options: ServerOptions
    @Flag(help: "List migrations and whether each is applied; change nothing.") var status = false

    func run() async throws {
        try await runReportingFailures {
            let settings = try options.settings()
            let logger = makeLogger(settings, label: "coalition.migrate")
            let migrator = Migrator(migrations: try loadMigrations(settings), logger: logger)
            if status {
                let states = try await withPool(settings.ownerDatabaseURL, settings, label: "migrate", logger: logger) { owner in
                    try await owner.withConnection { try await migrator.status($0) }
                }
                for state in states {
                    let name = String(format: "%04d_%@", state.version, state.name)
                    print("\(state.status == .applied ? "applied" : "pending")  \(name)")
                }
                return
            }
            let applied = try await applyMigrations(migrator, settings, logger: logger)
            if applied.isEmpty {
                print("schema is current (\(migrator.migrations.count) migration(s) applied)")
            } else {
                for m in applied { print("applied  \(m.fileName)") }
            }
        }
    }
}

struct Bootstrap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the secretariat and its first coalition admin, unless a coalition admin exists (then change nothing).")

    @OptionGroup var options: ServerOptions
    @Option(name: .customLong("admin-email"), help: "Email of the first coalition admin.") var adminEmail: String
    @Option(name: .customLong("admin-password"), help: "Password of the first coalition admin (12 to 72 bytes).") var adminPassword: String

    func validate() throws {
        if let reason = Validate.email(adminEmail) { throw ValidationError("--admin-email \(reason)") }
        if let reason = Validate.password(adminPassword) { throw ValidationError("--admin-password \(reason)") }
    }

    func run() async throws {
        try await runReportingFailures {
            let settings = try options.settings()
            let logger = makeLogger(settings, label: "coalition.bootstrap")
            let hash = try await PasswordHasher(cost: settings.bcryptCost).hash(adminPassword)
            let outcome = try await withPool(settings.ownerDatabaseURL, settings, label: "bootstrap", logger: logger) { owner in
                try await Store.bootstrap(owner: owner, adminEmail: adminEmail, passwordHash: hash)
            }
            switch outcome {
            case .created(let organization, let admin):
                print("created the secretariat (\(organization.uuidString.lowercased())) and coalition admin \(adminEmail) (\(admin.uuidString.lowercased()))")
            case .alreadyBootstrapped:
                print("a coalition admin exists already; nothing changed")
            }
        }
    }
}

struct AuditVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-verify",
        abstract: "Seal committed audit entries and verify the whole hash chain; exit 1 when it is broken.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        var intact = true
        try await runReportingFailures {
            let settings = try options.settings()
            let logger = makeLogger(settings, label: "coalition.audit")
            let result = try await withPool(settings.databaseURL, settings, label: "audit", logger: logger) { database in
                try await Store(pool: database).verifyAudit()
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            intact = result.ok
        }
        if !intact { throw ExitCode.failure }
    }
}

struct SeedDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-demo",
        abstract: "Load the demo coalition (fictional members, projects, a year of submissions) once; print the demo logins.")

    @OptionGroup var options: ServerOptions
    @Option(name: .customLong("password"), help: "Password of every demo user (12 to 72 bytes).")
    var password = "coalition-demo-2026"

    func validate() throws {
        if let reason = Validate.password(password) { throw ValidationError("--password \(reason)") }
    }

    func run() async throws {
        try await runReportingFailures {
            let settings = try options.settings()
            let logger = makeLogger(settings, label: "coalition.seed")
            let hash = try await PasswordHasher(cost: settings.bcryptCost).hash(password)
            let outcome = try await withPool(settings.ownerDatabaseURL, settings, label: "seed", logger: logger) { owner in
                try await DemoCoalition.seed(owner: owner, passwordHash: hash, today: .today())
            }
            switch outcome {
            case .seeded(let accounts, let submissions, let footprints):
                print("demo coalition loaded: 22 organizations, 3 projects, \(submissions) submissions, 3 standards, \(footprints) published product footprints")
                print("demo logins (password: \(password)):")
                for a in accounts { print("  \(a.role.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)) \(a.email)") }
                // A data recipient for the PACT API, acting for the coalition (it sees every
                // published footprint); its secret exists only in this output.
                let client = try await withPool(settings.ownerDatabaseURL, settings, label: "seed", logger: logger) { owner in
                    try await Store(pool: owner).transaction(as: nil) { tx in
                        try await PACTClientRegistration.register(
                            name: "Demo retailer (PACT client)", organizationID: nil, callbackClientID: nil, callbackClientSecret: nil,
                            secretsKey: nil, createdBy: nil, in: tx)
                    }
                }
                print("demo PACT client (POST /auth/token with HTTP Basic): client_id \(client.client.clientID) client_secret \(client.clientSecret)")
            case .alreadyPresent(let accounts):
                print("demo data present; nothing changed. Demo logins (password as when it was loaded, default \(password)):")
                for a in accounts { print("  \(a.role.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)) \(a.email)") }
            }
        }
    }
}

struct PACTClients: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pact-clients", abstract: "Manage PACT clients (data recipients of product footprints).",
        subcommands: [Create.self, Disable.self])

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a PACT client and delete its access tokens; print it as JSON.")

        @OptionGroup var options: ServerOptions
        @Argument(help: "The client's client_id.") var clientID: String

        func run() async throws {
            try await runReportingFailures {
                let settings = try options.settings()
                let logger = makeLogger(settings, label: "coalition.pact-clients")
                let disabled = try await withPool(settings.ownerDatabaseURL, settings, label: "pact-clients", logger: logger) { owner in
                    try await Store(pool: owner).transaction(as: nil) { tx in try await tx.disablePACTClient(clientID: clientID, asOwner: true) }
                }
                guard let disabled else { throw Failure("no enabled PACT client has the client_id \(clientID)") }
                let line: JSONValue = .object(["client_id": .string(disabled.clientID), "disabled": .bool(true)])
                print(line.canonicalText)
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a PACT client; print {client_id, client_secret} as JSON (the secret is shown this once).")

        @OptionGroup var options: ServerOptions
        @Option(help: "The client's name (1 to 100 characters).") var name: String
        @Option(help: "Slug of the organization the client acts for: it then sees only that organization's footprints.")
        var organization: String?
        @Option(name: .customLong("callback-client-id"), help: "Client id at the client's own token endpoint, for answers to its requests.")
        var callbackClientID: String?
        @Option(name: .customLong("callback-client-secret"), help: "Its secret there (kept sealed with COALITION_SECRETS_KEY).")
        var callbackClientSecret: String?

        func validate() throws {
            if let reason = Validate.length(name, 1...100) { throw ValidationError("--name \(reason)") }
            if (callbackClientID == nil) != (callbackClientSecret == nil) {
                throw ValidationError("--callback-client-id and --callback-client-secret go together")
            }
        }

        func run() async throws {
            try await runReportingFailures {
                let settings = try options.settings()
                if callbackClientSecret != nil, settings.secretsKey == nil { throw Failure(PACTClientRegistration.Refusal.noSecretsKey.description) }
                let logger = makeLogger(settings, label: "coalition.pact-clients")
                let created = try await withPool(settings.ownerDatabaseURL, settings, label: "pact-clients", logger: logger) { owner in
                    try await Store(pool: owner).transaction(as: nil) { tx in
                        var organizationID: UUID?
                        if let organization {
                            guard let found = try await tx.organization(slug: organization) else {
                                throw Failure("no organization has the slug \(organization)")
                            }
                            organizationID = found.id
                        }
                        return try await PACTClientRegistration.register(
                            name: name, organizationID: organizationID, callbackClientID: callbackClientID,
                            callbackClientSecret: callbackClientSecret, secretsKey: settings.secretsKey, createdBy: nil, in: tx)
                    }
                }
                let line: JSONValue = .object(["client_id": .string(created.client.clientID), "client_secret": .string(created.clientSecret)])
                print(line.canonicalText)
            }
        }
    }
}
