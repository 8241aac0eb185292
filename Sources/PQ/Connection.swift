import CLibPQ
import Logging
import NIOPosix
import Synchronization

/// Session settings applied to every new connection.
public struct SessionSettings: Sendable {
    /// `statement_timeout` in milliseconds; 0 disables it.
    public var statementTimeoutMilliseconds: Int
    public var applicationName: String

    public init(statementTimeoutMilliseconds: Int = 30_000, applicationName: String = "coalition") {
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
        self.applicationName = applicationName
    }
}

/// Moves a libpq pointer between threads. Only used to hand a freshly made `PGconn` from the
/// connecting thread to its `Connection`, which then guards it with a mutex.
struct UnsafeTransfer: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// A `PGcancel` object: safe to use from any thread while the connection it belongs to is busy.
final class Canceller: @unchecked Sendable {
    // PQcancel is documented as thread-safe and usable while another thread runs a query on the
    // connection; `pointer` is written once at init and freed once at deinit.
    private let pointer: OpaquePointer?
    init(_ pointer: OpaquePointer?) { self.pointer = pointer }
    func cancel() {
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

/// One libpq connection. Every libpq call runs on a thread of the dedicated `NIOThreadPool`,
/// never on an event loop or the cooperative pool, under the connection's mutex.
///
/// A `Connection` is used by one task at a time: `ConnectionPool` leases it exclusively.
public final class Connection: Sendable {
    private let handle: Mutex<OpaquePointer?>
    private let canceller: Canceller
    private let noticeSink: NoticeSink
    private let threads: NIOThreadPool
    public let id: Int

    private init(transfer: UnsafeTransfer, id: Int, threads: NIOThreadPool, logger: Logger) {
        let sink = NoticeSink(logger: logger)
        self.noticeSink = sink
        self.canceller = Canceller(PQgetCancel(transfer.pointer))
        self.threads = threads
        self.id = id
        PQsetNoticeProcessor(transfer.pointer, { context, message in
            guard let context, let message else { return }
            let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
            var text = String(cString: message)
            if text.hasSuffix("\n") { text.removeLast() }
            sink.logger.debug("postgres notice", metadata: ["notice": "\(text)"])
        }, Unmanaged.passUnretained(sink).toOpaque())
        self.handle = Mutex(transfer.pointer)
    }

    deinit {
        handle.withLock { pointer in
            if let pointer { PQfinish(pointer) }
            pointer = nil
        }
    }

    /// Opens a connection from a libpq connection string or URI (empty: the `PG*` variables and
    /// defaults, as `psql` does) and applies `settings`.
    public static func connect(
        to conninfo: String, settings: SessionSettings = SessionSettings(), id: Int = 0,
        threads: NIOThreadPool, logger: Logger = Logger(label: "pq")
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
                return UnsafeTransfer(pointer: conn)
            }
        } catch is CancellationError {
            throw PQError(.cancelled, message: "connecting was cancelled")
        }
        return Connection(transfer: transfer, id: id, threads: threads, logger: logger)
    }

    // MARK: - statements

    /// Runs one parameterized statement (`PQexecParams`) and copies its rows out.
    @discardableResult
    public func query(_ sql: SQL) async throws -> QueryResult {
        try await withLibPQ { conn in try Connection.execParams(conn, sql) }
    }

    /// Runs one parameterized statement and returns the number of rows it changed.
    @discardableResult
    public func execute(_ sql: SQL) async throws -> Int {
        try await query(sql).affectedRows
    }

    /// Runs a script of several statements without parameters (simple query protocol), as used
    /// for migrations. Stops at the first failing statement.
    public func executeScript(_ script: String) async throws {
        try await withLibPQ { conn in
            guard let res = PQexec(conn, script) else { throw Connection.connectionError(conn) }
            defer { PQclear(res) }
            let status = PQresultStatus(res)
            guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY else {
                throw Connection.error(from: res, conn: conn)
            }
        }
    }

    /// Streams `chunks` into `COPY … FROM STDIN`. Returns the number of rows copied. When the
    /// source throws, the COPY is aborted (nothing is stored) and the error is rethrown.
    public func copyIn<Source: AsyncSequence>(_ copyStatement: String, from chunks: Source) async throws -> Int
    where Source.Element == [UInt8] {
        try await withLibPQ { conn in
            guard let res = PQexec(conn, copyStatement) else { throw Connection.connectionError(conn) }
            defer { PQclear(res) }
            guard PQresultStatus(res) == PGRES_COPY_IN else {
                if PQresultStatus(res) == PGRES_FATAL_ERROR { throw Connection.error(from: res, conn: conn) }
                throw PQError(.protocolViolation, message: "the statement did not start COPY FROM STDIN")
            }
        }
        do {
            for try await chunk in chunks where !chunk.isEmpty {
                try await withLibPQ { conn in
                    let ok = chunk.withUnsafeBufferPointer { buffer in
                        buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(conn, $0.baseAddress, Int32($0.count)) }
                    }
                    if ok != 1 { throw Connection.connectionError(conn) }
                }
            }
        } catch {
            // Abort the COPY so the server discards the rows and the connection leaves COPY state.
            _ = try? await withLibPQ(cancellable: false) { conn in
                _ = PQputCopyEnd(conn, "aborted by the client")
                Connection.drainResults(conn)
            }
            throw error
        }
        return try await withLibPQ { conn in
            guard PQputCopyEnd(conn, nil) == 1 else { throw Connection.connectionError(conn) }
            var rows = 0
            var failure: PQError?
            while let res = PQgetResult(conn) {
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
    public func commit() async throws {
        try await withLibPQ(cancellable: false) { conn in
            guard let res = PQexec(conn, "COMMIT") else { throw Connection.connectionError(conn) }
            defer { PQclear(res) }
            guard PQresultStatus(res) == PGRES_COMMAND_OK else { throw Connection.error(from: res, conn: conn) }
            guard String(cString: PQcmdStatus(res)) == "COMMIT" else {
                throw PQError(.server, message: "the transaction was rolled back because a statement in it had failed", sqlState: "25P02")
            }
        }
    }

    // MARK: - pool support

    /// Non-blocking check, used when leasing: reads whatever the server sent while the
    /// connection was idle (a termination notice, EOF) and reports whether it is still usable.
    func isUsable() -> Bool {
        handle.withLock { conn in
            guard let conn else { return false }
            // The first read may return the server's termination message, the next one EOF.
            for _ in 0..<2 {
                guard PQconsumeInput(conn) == 1, PQstatus(conn) == CONNECTION_OK else { return false }
            }
            return PQtransactionStatus(conn) == PQTRANS_IDLE
        }
    }

    /// Makes the connection fit to return to the pool: rolls back an open or failed transaction.
    /// Returns false when the connection must be dropped instead.
    func resetForPool() async -> Bool {
        let state: (ConnStatusType, PGTransactionStatusType)? = handle.withLock { conn in
            guard let conn else { return nil }
            return (PQstatus(conn), PQtransactionStatus(conn))
        }
        guard let (status, transaction) = state, status == CONNECTION_OK else { return false }
        switch transaction {
        case PQTRANS_IDLE:
            return true
        case PQTRANS_INTRANS, PQTRANS_INERROR:
            do {
                try await withLibPQ(cancellable: false) { conn in
                    guard let res = PQexec(conn, "ROLLBACK") else { throw Connection.connectionError(conn) }
                    defer { PQclear(res) }
                    guard PQresultStatus(res) == PGRES_COMMAND_OK else { throw Connection.error(from: res, conn: conn) }
                }
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
        handle.withLock { conn in
            if let conn { PQfinish(conn) }
            conn = nil
        }
    }

    // MARK: - running libpq calls

    /// Runs `body` with the `PGconn` on a pool thread. When the calling task is cancelled while
    /// the call runs, `PQcancel` asks the server to stop the statement.
    private func withLibPQ<T: Sendable>(
        cancellable: Bool = true, _ body: @escaping @Sendable (OpaquePointer) throws -> T
    ) async throws -> T {
        if cancellable, Task.isCancelled { throw PQError(.cancelled, message: "the task was cancelled") }
        let run: @Sendable () async throws -> T = {
            try await self.threads.runIfActive {
                try self.handle.withLock { conn throws -> T in
                    guard let conn else { throw PQError(.connection, message: "the connection is closed") }
                    return try body(conn)
                }
            }
        }
        do {
            if cancellable {
                return try await withTaskCancellationHandler(operation: run, onCancel: { self.canceller.cancel() })
            }
            return try await run()
        } catch let error as PQError {
            if cancellable, Task.isCancelled, error.condition == .queryCanceled {
                throw PQError(.cancelled, message: "the statement was cancelled with its task", sqlState: error.sqlState)
            }
            throw error
        } catch is CancellationError {
            throw PQError(.cancelled, message: "the task was cancelled")
        }
    }

    static func execParams(_ conn: OpaquePointer, _ sql: SQL) throws -> QueryResult {
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
        let res: OpaquePointer? = buffer.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in
                let values: [UnsafePointer<CChar>?] = offsets.map { offset in
                    offset < 0 ? nil : UnsafePointer(chars.baseAddress! + offset)
                }
                return PQexecParams(conn, sql.text, Int32(count), types, values, lengths, formats, 0)
            }
        }
        guard let res else { throw connectionError(conn) }
        defer { PQclear(res) }
        switch PQresultStatus(res) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return copyResult(res)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            throw PQError(.protocolViolation, message: "COPY must go through copyIn")
        default:
            throw error(from: res, conn: conn)
        }
    }

    static func copyResult(_ res: OpaquePointer) -> QueryResult {
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
        let tag = String(cString: PQcmdTuples(res))
        return QueryResult(
            columns: columns, affectedRows: Int(tag) ?? rows, rowCount: rows,
            storage: storage, starts: starts, lengths: lengths)
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

    static func drainResults(_ conn: OpaquePointer) {
        while let res = PQgetResult(conn) { PQclear(res) }
    }
}
