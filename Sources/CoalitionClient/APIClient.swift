import AsyncHTTPClient
import CoalitionModels
import Foundation
import NIOCore
import NIOHTTP1

/// An error from talking to the server, worded for a one-line CLI message.
public enum ClientError: Error, CustomStringConvertible, Sendable {
    /// The server could not be reached.
    case connection(url: String, reason: String)
    /// The server answered with a problem document.
    case problem(Problem)
    /// The server answered something that is not what the API promises.
    case unexpectedResponse(status: Int, reason: String)
    case invalidURL(String)

    public var description: String {
        switch self {
        case .connection(let url, let reason): "cannot reach \(url): \(reason)"
        case .problem(let p): [p.title, p.detail].compactMap { $0 }.joined(separator: ": ")
        case .unexpectedResponse(let status, let reason): "unexpected response (HTTP \(status)): \(reason)"
        case .invalidURL(let url): "invalid server URL \"\(url)\"; expected http://host:port"
        }
    }
}

/// The Coalition HTTP API as Swift calls.
public final class APIClient: Sendable {
    public let baseURL: String
    let http: HTTPClient
    let timeout: TimeAmount

    public init(baseURL: String, timeout: TimeAmount = .seconds(30)) throws(ClientError) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw ClientError.invalidURL(baseURL)
        }
        self.baseURL = url
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(5)
        // A refused connection fails at once; callers that want retries (uploads) make their own.
        configuration.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.timeout = timeout
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Liveness and readiness: `GET /health/live`, then `GET /health/ready`.
    public func health() async throws(ClientError) -> (live: HealthStatus, ready: Result<HealthStatus, ClientError>) {
        let live: HealthStatus = try await get("/health/live")
        do {
            let ready: HealthStatus = try await get("/health/ready")
            return (live, .success(ready))
        } catch {
            return (live, .failure(error))
        }
    }

    func get<T: Decodable>(_ path: String) async throws(ClientError) -> T {
        let (status, body) = try await send(HTTPClientRequest(url: baseURL + path))
        return try decode(status: status, body: body)
    }

    func send(_ request: HTTPClientRequest) async throws(ClientError) -> (Int, Data) {
        do {
            let response = try await http.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 64 << 20)
            return (Int(response.status.code), Data(body.readableBytesView))
        } catch {
            throw ClientError.connection(url: baseURL, reason: Self.reason(error))
        }
    }

    func decode<T: Decodable>(status: Int, body: Data) throws(ClientError) -> T {
        let decoder = JSONDecoder()
        guard (200..<300).contains(status) else {
            if let problem = try? decoder.decode(Problem.self, from: body) { throw ClientError.problem(problem) }
            throw ClientError.unexpectedResponse(status: status, reason: "the body is not a problem document")
        }
        do {
            return try decoder.decode(T.self, from: body)
        } catch {
            throw ClientError.unexpectedResponse(status: status, reason: "the body is not the expected JSON")
        }
    }

    static func reason(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("connectTimeout") { return "connection timed out" }
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if let client = error as? HTTPClientError {
            return "\(client)"
        }
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? "connection failed"
    }
}
