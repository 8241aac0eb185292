import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// Collects a child process's output from a pipe on a thread of its own.
final class OutputCollector: Sendable {
    private let buffer = Mutex(Data())

    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                self.buffer.withLock { $0.append(chunk) }
            }
        }
    }

    var text: String { buffer.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// A built binary run as a child process.
final class ChildProcess: Sendable {
    let process: Process
    let stdout: OutputCollector
    let stderr: OutputCollector

    /// Starts `binary` (`coalition-server` or `coalition`) with `arguments`; `environment`
    /// replaces the inherited variables of the same names, and `nil` removes one.
    init(_ binary: String, _ arguments: [String], environment: [String: String?] = [:]) throws {
        let process = Process()
        process.executableURL = TestEnvironment.binDirectory.appendingPathComponent(binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("COALITION_") || key == "DATABASE_URL" || key.hasPrefix("PG") {
            env[key] = nil
        }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        self.stdout = OutputCollector(out)
        self.stderr = OutputCollector(err)
        self.process = process
        try process.run()
    }

    /// Waits for the process to end (at most `timeout`) and returns its exit status.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.interrupt()
                kill(process.processIdentifier, SIGKILL)
                throw TimeoutError(what: "\(process.executableURL?.lastPathComponent ?? "process") did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Let the reader threads drain the pipes.
        try await Task.sleep(for: .milliseconds(50))
        return process.terminationStatus
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    var what: String
    var description: String { what }
}

/// Runs a binary to completion and returns (status, stdout, stderr).
func run(_ binary: String, _ arguments: [String], environment: [String: String?] = [:]) async throws -> (Int32, String, String) {
    let child = try ChildProcess(binary, arguments, environment: environment)
    let status = try await child.waitForExit(timeout: .seconds(60))
    return (status, child.stdout.text, child.stderr.text)
}

/// A `coalition-server serve` on a free port, against one test database.
final class ServerProcess: Sendable {
    let child: ChildProcess
    let baseURL: String

    static func start(database: TestDatabase, extraArguments: [String] = [], environment: [String: String?] = [:]) async throws -> ServerProcess {
        var env: [String: String?] = [
            "DATABASE_URL": try database.appURL,
            "COALITION_OWNER_DATABASE_URL": try database.ownerURL,
            "COALITION_MIGRATIONS_DIR": TestEnvironment.migrationsDirectory.path,
            "COALITION_LOG_LEVEL": "warning",
            "COALITION_DB_POOL_SIZE": "4",
        ]
        for (k, v) in environment { env[k] = v }
        let child = try ChildProcess("coalition-server", ["serve", "--host", "127.0.0.1", "--port", "0"] + extraArguments, environment: env)
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            if let line = child.stdout.text.split(separator: "\n").first(where: { $0.hasPrefix("coalition-server listening on ") }) {
                return ServerProcess(child: child, baseURL: String(line.dropFirst("coalition-server listening on ".count)))
            }
            if !child.process.isRunning {
                throw TimeoutError(what: "the server exited early: \(child.stderr.text)")
            }
            if ContinuousClock.now > deadline { throw TimeoutError(what: "the server did not start: \(child.stderr.text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private init(child: ChildProcess, baseURL: String) {
        self.child = child
        self.baseURL = baseURL
    }

    /// SIGTERM, then waits for a clean exit.
    func stop() async throws -> Int32 {
        child.signal(SIGTERM)
        return try await child.waitForExit()
    }
}

/// A response as the tests look at it.
struct HTTPResult: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: Data

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var json: [String: any Sendable]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: any Sendable]
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Sends one request with the shared client.
func http(
    _ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: Data? = nil
) async throws -> HTTPResult {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
    let bytes = try await response.body.collect(upTo: 16 << 20)
    return HTTPResult(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Data(bytes.readableBytesView))
}
