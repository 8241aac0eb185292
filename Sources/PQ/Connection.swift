import CLibPQ
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOPosix
import Metrics
import Synchronization

/// Session settings applied to every new connection.
public struct SessionSettings: Sendable {
    /// `statement_timeout` in milliseconds; 0 disables it.
    public var statementTimeoutMilliseconds: Int
    public var applicationName: String
    /// Statements with parameters are prepared once per connection (named server-side
    /// statements) and run by name from then on. Off behind a transaction-mode pooler that does
    /// not track prepared statements (PgBouncer before 1.21, or without max_prepared_statements).
    public var preparesStatements: Bool

    public init(statementTimeoutMilliseconds: Int = 30_000, applicationName: String = "coalition", preparesStatements: Bool = true) {
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
        self.applicationName = applicationName
        self.preparesStatements = preparesStatements
    }
}

/// Moves a libpq pointer between threads. Only used to hand a freshly made `PGconn` from the
/// connecting thread to its `Connection`.
struct UnsafeTransfer: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// A `PGcancel` object: safe to use from any thread while the connection it belongs to is busy.
final class Canceller: @unchecked Sendable {
    // PQcancel is documented as thread-safe and usable while another thread runs a query on the
    // connection; `pointer` is written once at init and freed once at deinit.
    private let pointer: OpaquePointer?
    init(_ pointer: OpaquePointer?) { self.pointer = pointer }
    /// Asks the server to stop the running statement, from a Dispatch thread: `PQcancel` opens a
    /// connection of its own and waits for it (as long as a TCP connect takes when the server is
    /// unreachable), which must not hold the cancelling thread, one of Swift concurrency's few.
    /// The closure keeps this object, so the `PGcancel` lives until the request is sent.
    func cancel() {
        guard pointer != nil else { return }
        DispatchQueue.global().async { self.send() }
    }

    private func send() {
        guard let pointer else { return }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(pointer, &buffer, Int32(buffer.count))
    }
    deinit { if let pointer { PQfreeCancel(pointer) } }
}

/// Carries the logger for libpq's notice processor (a C callback that cannot capture).
final class NoticeSink: Sendable {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
}

/// Counts round trips to the server (flights: statements sent together, then their results read),
/// for metrics and for tests that hold a request to its budget of round trips.
public final class RoundTripTally: Sendable {
    private let value = Atomic<Int>(0)
    private let counter: Counter?

    public init(metricsLabel: String? = nil) {
        counter = metricsLabel.map { Counter(label: "coalition_db_round_trips_total", dimensions: [("pool", $0)]) }
    }

    public var count: Int { value.load(ordering: .relaxed) }

    func record() {
        value.add(1, ordering: .relaxed)
        counter?.increment()
    }
}

/// A notification received on a connection that ran `LISTEN`.
public struct PQNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String

    public init(channel: String, payload: String) {
        self.channel = channel
        self.payload = payload
    }
}

/// One libpq connection, driven non-blocking: statements are sent from the calling task, and
/// while the server works the task is suspended on the process's `Reactor` (epoll), not a
/// blocked thread. Only connecting, which may resolve names and waits up to
/// `connect_timeout`, runs on a thread of the pool's `NIOThreadPool`.
///
/// A `Connection` is used by one task at a time: `ConnectionPool` leases it exclusively, which
/// is what makes its unguarded state safe (hence `@unchecked Sendable`).
///
/// Transactions open lazily: `BEGIN` and the transaction's setup statement are held back and
/// sent in the same flight as the transaction's first statement (libpq pipeline mode), and the
/// last statement can carry the `COMMIT` (`queryAndCommit`).
public final class Connection: @unchecked Sendable {
    private var handle: OpaquePointer?
    /// Statements that open the current transaction, not yet sent.
    private var prologue: [SQL]?
    /// The transaction's final statement carried its COMMIT: nothing more may run in it.
    private var concluded = false
    /// Sent ahead of every flight of a `reading` scope (no transaction block).
    private var preamble: SQL?
    /// Named statements prepared on this connection, by text and parameter types.
    private var prepared: [PreparedKey: String] = [:]
    private let preparesStatements: Bool
    /// Prepared statements a connection keeps; further texts run unnamed.
    static let preparedLimit = 256

    private struct PreparedKey: Hashable {
        var text: String
        var types: [Oid]
    }
    private let canceller: Canceller
    private let noticeSink: NoticeSink
    private let tally: RoundTripTally?
    public let id: Int

    private init(transfer: UnsafeTransfer, id: Int, tally: RoundTripTally?, preparesStatements: Bool, logger: Logger) {
        self.preparesStatements = preparesStatements
        let sink = NoticeSink(logger: logger)
        self.noticeSink = sink
        self.canceller = Canceller(PQgetCancel(transfer.pointer))
        self.tally = tally
        self.id = id
        PQsetNoticeProcessor(transfer.pointer, { context, message in
            guard let context, let message else { return }
            let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
            var text = String(cString: message)
            if text.hasSuffix("\n") { text.removeLast() }
            sink.logger.debug("postgres notice", metadata: ["notice": "\(text)"])
        }, Unmanaged.passUnretained(sink).toOpaque())
        self.handle = transfer.pointer
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Opens a connection from a libpq connection string or URI (empty: the `PG*` variables and
    /// defaults, as `psql` does) and applies `settings`. The blocking connect runs on `threads`.
    public static func connect(
        to conninfo: String, settings: SessionSettings = SessionSettings(), id: Int = 0,
        threads: NIOThreadPool = .singleton, tally: RoundTripTally? = nil, logger: Logger = Logger(label: "pq")
    ) async throws -> Connection {
        try ConnectionString.validate(conninfo)
        let transfer: UnsafeTransfer
        do {
            transfer = try await threads.runIfActive {
                guard let conn = PQconnectdb(conninfo) else {
                    throw PQError(.connection, message: "libpq could not allocate a connection")
                }
                if PQstatus(conn) != CONNECTION_OK {
                    let message = ConnectionString.redact(String(cString: PQerrorMessage(conn)), conninfo: conninfo)
                    PQfinish(conn)
                    throw PQError(.connection, message: message)
                }
                let setup = """
                    SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_encoding = 'UTF8';
                    SET jit = off; SET statement_timeout = \(max(0, settings.statementTimeoutMilliseconds));
                    SET application_name = '\(settings.applicationName.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })'
                    """
                if let res = PQexec(conn, setup) {
                    defer { PQclear(res) }
                    if PQresultStatus(res) != PGRES_COMMAND_OK {
                        let error = Connection.error(from: res, conn: conn)
                        PQfinish(conn)
                        throw error
                    }
                } else {
                    PQfinish(conn)
                    throw PQError(.connection, message: "could not configure the session")
                }
                guard PQsetnonblocking(conn, 1) == 0 else {
                    PQfinish(conn)
                    throw PQError(.connection, message: "could not put the connection in non-blocking mode")
                }
                return UnsafeTransfer(pointer: conn)
            }
        } catch is CancellationError {
            throw PQError(.cancelled, message: "connecting was cancelled")
        }
        return Connection(transfer: transfer, id: id, tally: tally, preparesStatements: settings.preparesStatements, logger: logger)
    }

    // MARK: - statements

    /// Runs one parameterized statement (extended protocol) and copies its rows out. In a
    /// transaction not yet opened, `BEGIN` and its setup travel in the same flight.
    @discardableResult
    public func query(_ sql: SQL) async throws -> QueryResult {
        let opening = try takePrologue()
        if opening.isEmpty { return try await flight([sql])[0] }
        return try await flight(opening + [sql]).last!
    }

    /// Runs one parameterized statement and returns the number of rows it changed.
    @discardableResult
    public func execute(_ sql: SQL) async throws -> Int {
        try await query(sql).affectedRows
    }

    /// Runs several statements in one flight (pipeline mode) and returns each one's rows. The
    /// first failure aborts the rest (and, outside a transaction block, undoes the earlier ones:
    /// a pipeline up to its sync is one implicit transaction).
    public func pipeline(_ statements: [SQL]) async throws -> [QueryResult] {
        guard !statements.isEmpty else { return [] }
        let opening = try takePrologue()
        return Array(try await flight(opening + statements).dropFirst(opening.count))
    }

    /// Runs the transaction's last statement and `COMMIT` in one flight. The transaction is
    /// over when it returns: the surrounding `transaction` then has nothing left to commit. Only
    /// for the statement after which the body does no more work in the transaction.
    public func queryAndCommit(_ sql: SQL) async throws -> QueryResult {
        try await pipelineAndCommit([sql])[0]
    }

    /// As `queryAndCommit`, for several statements.
    public func pipelineAndCommit(_ statements: [SQL]) async throws -> [QueryResult] {
        let opening = try takePrologue()
        concluded = true
        let results: [QueryResult]
        do {
            results = try await flight(opening + statements + [SQL("COMMIT")], tags: true)
        } catch {
            // A failed statement leaves the transaction open (aborted): it may be rolled back.
            concluded = false
            throw error
        }
        try Self.checkCommitted(results.last!.commandTag)
        return Array(results.dropFirst(opening.count).dropLast())
    }

    /// Runs a script of several statements without parameters (simple query protocol), as used
    /// for migrations. Stops at the first failing statement.
    public func executeScript(_ script: String) async throws {
        try await sendPrologue()
        try await withLibPQ { conn in
            try Self.check(PQsendQuery(conn, script), conn)
            try await self.flush(conn)
            var failure: PQError?
            while let res = try await self.nextResult(conn) {
                defer { PQclear(res) }
                let status = PQresultStatus(res)
                if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH {
                    throw PQError(.protocolViolation, message: "COPY must go through copyIn")
                }
                if failure == nil, status != PGRES_COMMAND_OK, status != PGRES_TUPLES_OK, status != PGRES_EMPTY_QUERY {
                    failure = Connection.error(from: res, conn: conn)
                }
            }
            if let failure { throw failure }
        }
    }

    /// Streams `chunks` into `COPY … FROM STDIN`. Returns the number of rows copied. When the
    /// source throws, the COPY is aborted (nothing is stored) and the error is rethrown.
    public func copyIn<Source: AsyncSequence>(_ copyStatement: String, from chunks: Source) async throws -> Int
    where Source.Element == [UInt8] {
        try await sendPrologue()
        try await withLibPQ { conn in
            try Self.check(PQsendQuery(conn, copyStatement), conn)
            try await self.flush(conn)
            // The statements before the COPY (an opening BEGIN) answer first.
            while true {
                guard let res = try await self.nextResult(conn) else {
                    throw PQError(.protocolViolation, message: "the statement did not start COPY FROM STDIN")
                }
                defer { PQclear(res) }
                let status = PQresultStatus(res)
                if status == PGRES_COPY_IN { break }
                if status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK {
                    let error = Connection.error(from: res, conn: conn)
                    while let more = try await self.nextResult(conn) { PQclear(more) }
                    throw error
                }
            }
        }
        do {
            for try await chunk in chunks where !chunk.isEmpty {
                try await withLibPQ { conn in try await self.putCopyData(conn, chunk) }
            }
        } catch {
            // Abort the COPY so the server discards the rows and the connection leaves COPY state.
            _ = try? await withLibPQ(cancellable: false) { conn in
                try await self.endCopy(conn, error: "aborted by the client")
                while let res = try await self.nextResult(conn) { PQclear(res) }
            }
            throw error
        }
        return try await withLibPQ(cancellable: false) { conn in
            try await self.endCopy(conn, error: nil)
            var rows = 0
            var failure: PQError?
            while let res = try await self.nextResult(conn) {
                defer { PQclear(res) }
                switch PQresultStatus(res) {
                case PGRES_COMMAND_OK: rows = Int(String(cString: PQcmdTuples(res))) ?? 0
                default: if failure == nil { failure = Connection.error(from: res, conn: conn) }
                }
            }
            if let failure { throw failure }
            return rows
        }
    }

    /// COMMIT, failing when the server rolled back instead (a statement in the transaction had
    /// failed and its error was swallowed): the caller must not believe its writes are stored.
    /// A transaction that never sent a statement has nothing to commit.
    public func commit() async throws {
        if prologue != nil {
            prologue = nil
            return
        }
        let result = try await withLibPQ(cancellable: false) { conn in try await self.run([SQL("COMMIT")], conn, tags: true) }
        try Self.checkCommitted(result[0].commandTag)
    }

    /// ROLLBACK of the open transaction, if one was opened.
    public func rollback() async throws {
        if prologue != nil {
            prologue = nil
            return
        }
        try await executeScript("ROLLBACK")
    }

    /// Whether a transaction is open (or about to be, with its first statement).
    public var inTransaction: Bool {
        if prologue != nil { return true }
        guard let handle else { return false }
        return PQtransactionStatus(handle) != PQTRANS_IDLE
    }

    /// Holds `statements` (BEGIN and setup) back until the next statement.
    func open(with statements: [SQL]) {
        prologue = statements
        concluded = false
    }

    /// Runs a read-only `body` without a transaction block: `setup` (one statement) travels
    /// ahead of each of its flights, and a flight up to its sync is one implicit transaction, so
    /// transaction-local settings made by `setup` hold for the statements of that flight. One
    /// flight per statement, no BEGIN and no COMMIT; each flight sees its own snapshot (as each
    /// statement does under READ COMMITTED anyway).
    public func reading<T>(setup: SQL, _ body: (Connection) async throws -> T) async throws -> T {
        preamble = setup
        defer { preamble = nil }
        return try await body(self)
    }

    /// Ends the scope of a transaction (however it ended).
    func closeTransactionScope() {
        prologue = nil
        concluded = false
    }

    // MARK: - notifications

    /// Waits until the server delivers notifications for the channels this connection listens
    /// on and returns them. Cancelling the task ends the wait with `CancellationError`.
    public func notifications() async throws -> [PQNotification] {
        guard let conn = handle else { throw PQError(.connection, message: "the connection is closed") }
        while true {
            var received: [PQNotification] = []
            while let notify = PQnotifies(conn) {
                received.append(PQNotification(
                    channel: String(cString: notify.pointee.relname), payload: String(cString: notify.pointee.extra)))
                PQfreemem(notify)
            }
            if !received.isEmpty { return received }
            try Task.checkCancellation()
            await Reactor.shared.wait(PQsocket(conn), for: .read, cancellable: true)
            try Task.checkCancellation()
            guard PQconsumeInput(conn) == 1, PQstatus(conn) == CONNECTION_OK else { throw Connection.connectionError(conn) }
        }
    }

    // MARK: - pool support

    /// Non-blocking check, used when leasing: reads whatever the server sent while the
    /// connection was idle (a termination notice, EOF) and reports whether it is still usable.
    /// A pooled connection listens on no channel, so nothing arrives while it is idle unless
    /// its backend is going away: a terminated backend sends its FATAL notice, clears its
    /// `pg_stat_activity` entry, and only then closes the socket, so "readable" alone, before
    /// the EOF, already means gone (libpq would hand that notice to the next query as its error).
    func isUsable() -> Bool {
        guard let conn = handle else { return false }
        var socket = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
        if poll(&socket, 1, 0) != 0 { return false }
        // The first read may return the server's termination message, the next one EOF.
        for _ in 0..<2 {
            guard PQconsumeInput(conn) == 1, PQstatus(conn) == CONNECTION_OK else { return false }
        }
        return PQtransactionStatus(conn) == PQTRANS_IDLE && PQpipelineStatus(conn) == PQ_PIPELINE_OFF
    }

    /// Makes the connection fit to return to the pool: rolls back an open or failed transaction.
    /// Returns false when the connection must be dropped instead.
    func resetForPool() async -> Bool {
        closeTransactionScope()
        preamble = nil
        guard let conn = handle, PQstatus(conn) == CONNECTION_OK, PQpipelineStatus(conn) == PQ_PIPELINE_OFF else { return false }
        switch PQtransactionStatus(conn) {
        case PQTRANS_IDLE:
            return true
        case PQTRANS_INTRANS, PQTRANS_INERROR:
            do {
                try await executeScript("ROLLBACK")
                return true
            } catch {
                return false
            }
        default:
            return false
        }
    }

    /// Closes the connection; later calls fail with a connection error.
    func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    // MARK: - running libpq calls

    /// A script (simple protocol, no parameters) cannot carry the prologue's parameters: the
    /// prologue goes ahead in a flight of its own.
    private func sendPrologue() async throws {
        let opening = try takePrologue()
        if !opening.isEmpty { _ = try await flight(opening) }
    }

    private func takePrologue() throws -> [SQL] {
        if concluded {
            throw PQError(.protocolViolation, message: "the transaction was committed with its final statement; nothing more may run in it")
        }
        if let opening = prologue {
            prologue = nil
            return opening
        }
        return preamble.map { [$0] } ?? []
    }

    /// Runs `body` with the `PGconn`. When the calling task is cancelled while it runs,
    /// `PQcancel` asks the server to stop the statement.
    private func withLibPQ<T>(cancellable: Bool = true, _ body: (OpaquePointer) async throws -> T) async throws -> T {
        if cancellable, Task.isCancelled { throw PQError(.cancelled, message: "the task was cancelled") }
        guard let conn = handle else { throw PQError(.connection, message: "the connection is closed") }
        do {
            if cancellable {
                return try await withTaskCancellationHandler { try await body(conn) } onCancel: { self.canceller.cancel() }
            }
            return try await body(conn)
        } catch let error as PQError {
            if cancellable, Task.isCancelled, error.condition == .queryCanceled {
                throw PQError(.cancelled, message: "the statement was cancelled with its task", sqlState: error.sqlState)
            }
            throw error
        }
    }

    /// Sends `statements` in one flight and reads every result: one statement alone, several in
    /// pipeline mode up to one sync.
    private func flight(_ statements: [SQL], tags: Bool = false) async throws -> [QueryResult] {
        try await withLibPQ { conn in try await self.run(statements, conn, tags: tags) }
    }

    /// How one statement of a flight is sent: unnamed, by a name prepared before, or by a name
    /// prepared in this flight just ahead of it.
    private enum Step {
        case unnamed
        case named(String)
        case preparing(String, PreparedKey)
    }

    /// Each statement's step; a text new to this connection is prepared once, even when it
    /// appears twice in the flight.
    private func plan(_ statements: [SQL]) -> [Step] {
        var preparingNow: [PreparedKey: String] = [:]
        return statements.map { sql in
            guard preparesStatements, !sql.binds.isEmpty else { return .unnamed }
            let key = PreparedKey(text: sql.text, types: sql.binds.map(\.type.rawValue))
            if let name = prepared[key] ?? preparingNow[key] { return .named(name) }
            guard prepared.count + preparingNow.count < Self.preparedLimit else { return .unnamed }
            let name = "coalition_\(prepared.count + preparingNow.count + 1)"
            preparingNow[key] = name
            return .preparing(name, key)
        }
    }

    private func run(_ statements: [SQL], _ conn: OpaquePointer, tags: Bool) async throws -> [QueryResult] {
        let steps = plan(statements)
        let preparesNow = steps.contains { if case .preparing = $0 { true } else { false } }
        if statements.count == 1, !preparesNow {
            try Self.send(statements[0], steps[0], conn)
            try await flush(conn)
            return [try await collect(conn, tags: tags) ?? QueryResult.empty]
        }
        try Self.check(PQenterPipelineMode(conn), conn)
        for (statement, step) in zip(statements, steps) { try Self.send(statement, step, conn) }
        try Self.check(PQpipelineSync(conn), conn)
        try await flush(conn)
        var results: [QueryResult] = []
        var failure: PQError?
        for step in steps {
            if case .preparing(let name, let key) = step {
                do {
                    _ = try await collect(conn, tags: false)
                    prepared[key] = name
                } catch let error as PQError where error.kind == .server {
                    if failure == nil { failure = error }
                }
            }
            do {
                results.append(try await collect(conn, tags: tags) ?? QueryResult.empty)
            } catch let error as PQError where error.kind == .server {
                if failure == nil { failure = error }
                results.append(QueryResult.empty)
            }
        }
        guard let sync = try await nextResult(conn) else {
            throw PQError(.protocolViolation, message: "the pipeline ended without its sync")
        }
        let status = PQresultStatus(sync)
        PQclear(sync)
        guard status == PGRES_PIPELINE_SYNC, PQexitPipelineMode(conn) == 1 else {
            throw PQError(.protocolViolation, message: "the pipeline did not end at its sync (\(String(cString: PQresStatus(status))))")
        }
        if let failure { throw failure }
        return results
    }

    /// Reads one statement's results up to libpq's NULL; the rows of the last, or its error.
    private func collect(_ conn: OpaquePointer, tags: Bool) async throws -> QueryResult? {
        var result: QueryResult?
        var failure: PQError?
        while let res = try await nextResult(conn) {
            defer { PQclear(res) }
            switch PQresultStatus(res) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                result = Self.copyResult(res, tag: tags)
            case PGRES_PIPELINE_ABORTED:
                if failure == nil {
                    failure = PQError(.server, message: "an earlier statement of the pipeline failed", sqlState: "25P02")
                }
            case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
                // libpq now waits for COPY data this code will not send: the connection is unusable.
                close()
                throw PQError(.protocolViolation, message: "COPY must go through copyIn")
            default:
                if failure == nil { failure = Self.error(from: res, conn: conn) }
            }
        }
        if let failure { throw failure }
        return result
    }

    /// Writes out what libpq has queued (a flight: counted as a round trip).
    private func flush(_ conn: OpaquePointer) async throws {
        tally?.record()
        try await drain(conn)
    }

    /// Writes out what libpq has queued, waiting for the socket while the kernel's buffer is full.
    private func drain(_ conn: OpaquePointer) async throws {
        while true {
            switch PQflush(conn) {
            case 0: return
            case 1: try await awaitSocket(conn)
            default: throw Self.connectionError(conn)
            }
        }
    }

    /// Waits until the socket takes more bytes or the server says something, and reads what
    /// arrived (the server may answer, with an error, before it has read everything).
    private func awaitSocket(_ conn: OpaquePointer) async throws {
        await Reactor.shared.wait(PQsocket(conn), for: .readOrWrite)
        guard PQconsumeInput(conn) == 1 else { throw Self.connectionError(conn) }
    }

    /// `PQgetResult` without blocking: suspends until libpq has a whole result (or none).
    private func nextResult(_ conn: OpaquePointer) async throws -> OpaquePointer? {
        while PQisBusy(conn) == 1 {
            await Reactor.shared.wait(PQsocket(conn), for: .read)
            guard PQconsumeInput(conn) == 1 else { throw Self.connectionError(conn) }
        }
        return PQgetResult(conn)
    }

    /// Queues COPY data (`put` answers 1 when queued, 0 when libpq's buffer is full for now)
    /// and writes it out.
    private func copy(_ conn: OpaquePointer, _ put: () -> Int32) async throws {
        while true {
            switch put() {
            case 1: return try await drain(conn)
            case 0: try await awaitSocket(conn)
            default: throw Self.connectionError(conn)
            }
        }
    }

    private func putCopyData(_ conn: OpaquePointer, _ chunk: [UInt8]) async throws {
        try await copy(conn) {
            chunk.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(conn, $0.baseAddress, Int32($0.count)) }
            }
        }
    }

    private func endCopy(_ conn: OpaquePointer, error: String?) async throws {
        try await copy(conn) { PQputCopyEnd(conn, error) }
    }

    static func check(_ status: Int32, _ conn: OpaquePointer) throws {
        if status != 1 { throw connectionError(conn) }
    }

    static func checkCommitted(_ tag: String?) throws {
        guard tag == "COMMIT" else {
            throw PQError(.server, message: "the transaction was rolled back because a statement in it had failed", sqlState: "25P02")
        }
    }

    /// Queues one parameterized statement (`PQsendQueryParams`, or `PQsendPrepare` and
    /// `PQsendQueryPrepared`); text parameters must not hold NUL.
    private static func send(_ sql: SQL, _ step: Step, _ conn: OpaquePointer) throws {
        let count = sql.binds.count
        var types = [Oid](repeating: 0, count: count)
        var lengths = [Int32](repeating: 0, count: count)
        var formats = [Int32](repeating: 0, count: count)
        // One buffer holds every parameter's bytes (text ones NUL-terminated); pointers into it
        // are formed inside withUnsafeBufferPointer so they stay valid for the call.
        var buffer: [UInt8] = []
        var offsets = [Int](repeating: -1, count: count)
        for (i, bind) in sql.binds.enumerated() {
            types[i] = bind.type.rawValue
            formats[i] = bind.format.rawValue
            guard let bytes = bind.bytes else { continue }
            if bind.format == .text, bytes.contains(0) {
                throw PQError(.invalidValue, message: "parameter $\(i + 1) contains a NUL byte, which text values cannot hold")
            }
            offsets[i] = buffer.count
            lengths[i] = Int32(bytes.count)
            buffer.append(contentsOf: bytes)
            if bind.format == .text { buffer.append(0) }
        }
        let sent: Int32 = buffer.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in
                let values: [UnsafePointer<CChar>?] = offsets.map { offset in
                    offset < 0 ? nil : UnsafePointer(chars.baseAddress! + offset)
                }
                switch step {
                case .unnamed:
                    return PQsendQueryParams(conn, sql.text, Int32(count), types, values, lengths, formats, 0)
                case .named(let name):
                    return PQsendQueryPrepared(conn, name, Int32(count), values, lengths, formats, 0)
                case .preparing(let name, _):
                    guard PQsendPrepare(conn, name, sql.text, Int32(count), types) == 1 else { return 0 }
                    return PQsendQueryPrepared(conn, name, Int32(count), values, lengths, formats, 0)
                }
            }
        }
        try check(sent, conn)
    }

    static func copyResult(_ res: OpaquePointer, tag: Bool = false) -> QueryResult {
        let rows = Int(PQntuples(res))
        let width = Int(PQnfields(res))
        var columns: [PQColumn] = []
        columns.reserveCapacity(width)
        for c in 0..<width {
            columns.append(PQColumn(name: String(cString: PQfname(res, Int32(c))), type: PQType(rawValue: PQftype(res, Int32(c)))))
        }
        var total = 0
        for r in 0..<rows { for c in 0..<width { total += Int(PQgetlength(res, Int32(r), Int32(c))) } }
        var storage: [UInt8] = []
        storage.reserveCapacity(total)
        var starts = [Int](repeating: -1, count: rows * width)
        var lengths = [Int32](repeating: 0, count: rows * width)
        for r in 0..<rows {
            for c in 0..<width {
                let cell = r * width + c
                if PQgetisnull(res, Int32(r), Int32(c)) == 1 { continue }
                let length = PQgetlength(res, Int32(r), Int32(c))
                starts[cell] = storage.count
                lengths[cell] = length
                if length > 0, let value = PQgetvalue(res, Int32(r), Int32(c)) {
                    storage.append(contentsOf: UnsafeRawBufferPointer(start: value, count: Int(length)))
                }
            }
        }
        let affected = String(cString: PQcmdTuples(res))
        return QueryResult(
            columns: columns, affectedRows: Int(affected) ?? rows, rowCount: rows,
            storage: storage, starts: starts, lengths: lengths, commandTag: tag ? String(cString: PQcmdStatus(res)) : nil)
    }

    static func error(from res: OpaquePointer, conn: OpaquePointer) -> PQError {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(res, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        guard let sqlState = field("C") else {
            return connectionError(conn)
        }
        let primary = field("M") ?? "error"
        var error = PQError(
            .server, message: PQError.safeMessage(sqlState: sqlState, serverMessage: primary), sqlState: sqlState,
            constraint: field("n"), table: field("t"), column: field("c"))
        if PQstatus(conn) != CONNECTION_OK || sqlState.hasPrefix("08") || sqlState == SQLState.adminShutdown.rawValue {
            error.kind = .connection
        }
        return error
    }

    static func connectionError(_ conn: OpaquePointer) -> PQError {
        var message = String(cString: PQerrorMessage(conn))
        while message.hasSuffix("\n") { message.removeLast() }
        return PQError(.connection, message: message.isEmpty ? "the connection to the database was lost" : message)
    }
}
