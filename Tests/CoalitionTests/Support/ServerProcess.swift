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
    convenience init(_ binary: String, _ arguments: [String], environment: [String: String?] = [:]) throws {
        try self.init(executable: TestEnvironment.binDirectory.appendingPathComponent(binary), arguments, environment: environment)
    }

    init(executable: URL, _ arguments: [String], environment: [String: String?] = [:]) throws {
        let process = Process()
        process.executableURL = executable
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

/// A `coalition-server serve` on a free port, against one test database. When the run asks
/// for two instances (`COALITION_TEST_INSTANCES=2`, as `scripts/topology-test` does), two
/// servers run behind an haproxy on loopback and `baseURL` is the balancer's: every request of
/// the test may land on either, as behind the load balancer of a real deployment.
final class ServerProcess: Sendable {
    /// The (first) server.
    let child: ChildProcess
    let baseURL: String
    /// The second server and the balancer, in pair mode.
    let companions: [ChildProcess]

    static func start(database: TestDatabase, extraArguments: [String] = [], environment: [String: String?] = [:]) async throws -> ServerProcess {
        var env: [String: String?] = [
            "DATABASE_URL": try database.appURL,
            "COALITION_OWNER_DATABASE_URL": try database.ownerURL,
            "COALITION_MIGRATIONS_DIR": TestEnvironment.migrationsDirectory.path,
            "COALITION_LOG_LEVEL": "warning",
            "COALITION_DB_POOL_SIZE": "4",
        ]
        if TestEnvironment.poolerPort != nil {
            // LISTEN needs a session of its own, which a transaction pooler cannot give; and
            // PgBouncer 1.18 cannot carry named prepared statements. As deploy/ configures it.
            env["COALITION_LISTEN_DATABASE_URL"] = try database.directAppURL
            env["COALITION_DB_PREPARED_STATEMENTS"] = "false"
        }
        for (k, v) in environment { env[k] = v }
        let first = try await launch(extraArguments, env)
        guard TestEnvironment.instances >= 2 else {
            return ServerProcess(child: first.child, baseURL: first.url, companions: [])
        }
        let second = try await launch(extraArguments, env)
        let balancer = try await Balancer.start(backends: [first.url, second.url])
        return ServerProcess(child: first.child, baseURL: balancer.url, companions: [second.child, balancer.child])
    }

    private static func launch(_ extraArguments: [String], _ env: [String: String?]) async throws -> (child: ChildProcess, url: String) {
        let child = try ChildProcess("coalition-server", ["serve", "--host", "127.0.0.1", "--port", "0"] + extraArguments, environment: env)
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            if let line = child.stdout.text.split(separator: "\n").first(where: { $0.hasPrefix("coalition-server listening on ") }) {
                return (child, String(line.dropFirst("coalition-server listening on ".count)))
            }
            if !child.process.isRunning {
                throw TimeoutError(what: "the server exited early: \(child.stderr.text)")
            }
            if ContinuousClock.now > deadline { throw TimeoutError(what: "the server did not start: \(child.stderr.text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private init(child: ChildProcess, baseURL: String, companions: [ChildProcess]) {
        self.child = child
        self.baseURL = baseURL
        self.companions = companions
    }

    /// SIGTERM, then waits for a clean exit (of every server, then the balancer).
    func stop() async throws -> Int32 {
        for process in [child] + companions { process.signal(SIGTERM) }
        var status = try await child.waitForExit()
        for process in companions {
            let other = try await process.waitForExit()
            if status == 0 { status = other }
        }
        return status
    }
}

/// haproxy in front of two servers, as `deploy/` puts a load balancer in front of its
/// replicas: round robin, health checks on `/health/ready`, and a refused connection retried
/// on the other server (what a rolling restart needs).
enum Balancer {
    static func start(backends: [String]) async throws -> (child: ChildProcess, url: String) {
        let haproxy = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let haproxy else { throw TestEnvironment.Missing(description: "haproxy is missing: run the tests with scripts/test, which installs it") }
        let port = try freePort()
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("coalition-haproxy-\(port).cfg")
        let servers = backends.enumerated().map { index, url in
            "    server s\(index) \(url.replacingOccurrences(of: "http://", with: "")) check"
        }
        try ("""
            global
                maxconn 4096
            defaults
                mode http
                timeout connect 2s
                timeout client 130s
                timeout server 130s
                retries 3
                option redispatch
                retry-on conn-failure empty-response
            frontend api
                bind 127.0.0.1:\(port)
                default_backend servers
            backend servers
                balance roundrobin
                option httpchk GET /health/ready
                timeout check 3s
                default-server inter 1s fall 3 rise 2
            \(servers.joined(separator: "\n"))

            """).write(to: config, atomically: true, encoding: .utf8)
        let child = try ChildProcess(executable: URL(fileURLWithPath: haproxy), ["-db", "-f", config.path])
        let url = "http://127.0.0.1:\(port)"
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            if let probe = try? await http(.GET, url + "/health/live"), probe.status == 200 { return (child, url) }
            if !child.process.isRunning { throw TimeoutError(what: "haproxy exited: \(child.stderr.text)") }
            if ContinuousClock.now > deadline { throw TimeoutError(what: "haproxy did not answer: \(child.stderr.text)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TimeoutError(what: "no free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
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
