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
        case .problem(let p):
            ([p.title, p.detail].compactMap { $0 }.joined(separator: ": ")
                + ((p.errors ?? []).isEmpty ? "" : " (" + p.errors!.map { "\($0.field) \($0.message)" }.joined(separator: "; ") + ")"))
                .split(whereSeparator: \.isNewline).joined(separator: " ")
        case .unexpectedResponse(let status, let reason): "unexpected response (HTTP \(status)): \(reason)"
        case .invalidURL(let url): "invalid server URL \"\(url)\"; expected http://host:port"
        }
    }

    /// The HTTP status of a refusal, if the server answered.
    public var httpStatus: Int? {
        switch self {
        case .problem(let p): p.status
        case .unexpectedResponse(let status, _): status
        case .connection, .invalidURL: nil
        }
    }

    /// Exit status of SPEC §5: 2 for connection and authentication trouble (401, 403) and a bad
    /// server URL, 1 for every other refusal.
    public var exitStatus: Int32 {
        switch self {
        case .connection, .invalidURL: 2
        case .problem, .unexpectedResponse: [401, 403].contains(httpStatus ?? 0) ? 2 : 1
        }
    }
}

/// The Coalition HTTP API as Swift calls.
public final class APIClient: Sendable {
    public let baseURL: String
    /// Sent as `Authorization: Bearer <token>` when set.
    public let token: String?
    /// Items asked for per page when following `next_cursor` (1–500).
    public let pageSize: Int
    let http: HTTPClient
    let timeout: TimeAmount

    public init(baseURL: String, token: String? = nil, pageSize: Int = 500, timeout: TimeAmount = .seconds(30)) throws(ClientError) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw ClientError.invalidURL(baseURL)
        }
        self.baseURL = url
        self.token = token
        self.pageSize = min(max(pageSize, 1), 500)
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

    /// One authenticated request: `query` items are percent-encoded, `json` is sent as the body.
    public func call<T: Decodable>(
        _ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], json: [String: String?]? = nil
    ) async throws(ClientError) -> T {
        var request = HTTPClientRequest(url: baseURL + path + Self.queryString(query))
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            var object: [String: String] = [:]
            for (k, v) in json { if let v { object[k] = v } }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        let (status, body) = try await send(request)
        return try decode(status: status, body: body)
    }

    /// Every item of a cursor-paginated list, following `next_cursor` to the last page.
    public func all<T: Codable & Sendable>(_ path: String, query: [(String, String?)] = [], as: T.Type = T.self) async throws(ClientError) -> [T] {
        var items: [T] = []
        var cursor: String?
        repeat {
            let page: Page<T> = try await call(.GET, path, query: query + [("limit", String(pageSize)), ("cursor", cursor)])
            items += page.items
            cursor = page.nextCursor
        } while cursor != nil
        return items
    }

    static func queryString(_ items: [(String, String?)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let parts = items.compactMap { name, value -> String? in
            guard let value, !value.isEmpty else { return nil }
            return name + "=" + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)
        }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }

    // MARK: Typed calls

    /// `POST /v1/auth/login`.
    public func login(email: String, password: String) async throws(ClientError) -> LoginResponse {
        try await call(.POST, "/v1/auth/login", json: ["email": email, "password": password])
    }

    /// `GET /v1/me`.
    public func me() async throws(ClientError) -> Me { try await call(.GET, "/v1/me") }

    /// `GET /v1/tokens`, every page.
    public func tokens() async throws(ClientError) -> [APIToken] { try await all("/v1/tokens") }

    /// `DELETE /v1/tokens/{id}`.
    public func revokeToken(id: UUID) async throws(ClientError) -> APIToken {
        try await call(.DELETE, "/v1/tokens/\(id.uuidString.lowercased())")
    }

    public func organizations() async throws(ClientError) -> [Organization] { try await all("/v1/organizations") }

    public func projects() async throws(ClientError) -> [Project] { try await all("/v1/projects") }

    /// `GET /v1/projects/{id}/milestones` (not paginated).
    public func milestones(project: UUID) async throws(ClientError) -> [Milestone] {
        try await call(.GET, "/v1/projects/\(project.uuidString.lowercased())/milestones")
    }

    public func standards(status: String? = nil, category: String? = nil) async throws(ClientError) -> [Standard] {
        try await all("/v1/standards", query: [("status", status), ("category", category)])
    }

    public func standard(id: UUID) async throws(ClientError) -> Standard {
        try await call(.GET, "/v1/standards/\(id.uuidString.lowercased())")
    }

    /// `POST /v1/standards/{id}/reviews` with `decision` `approve` or `reject`.
    public func reviewStandard(id: UUID, decision: String, comment: String?) async throws(ClientError) -> Standard {
        try await call(.POST, "/v1/standards/\(id.uuidString.lowercased())/reviews", json: ["decision": decision, "comment": comment])
    }

    public func publishStandard(id: UUID) async throws(ClientError) -> Standard {
        try await call(.POST, "/v1/standards/\(id.uuidString.lowercased())/publish")
    }

    public func submissions(project: UUID? = nil, status: String? = nil) async throws(ClientError) -> [Submission] {
        try await all("/v1/submissions", query: [("project", project?.uuidString.lowercased()), ("status", status)])
    }

    /// `POST /v1/submissions/{id}/review` with `decision` `approve` or `reject`.
    public func reviewSubmission(id: UUID, decision: String, comment: String?) async throws(ClientError) -> Submission {
        try await call(.POST, "/v1/submissions/\(id.uuidString.lowercased())/review", json: ["decision": decision, "comment": comment])
    }

    /// `GET /v1/reports/summary`; `by` is `year` or `quarter`.
    public func summary(from: String?, to: String?, by: String?) async throws(ClientError) -> CoalitionSummary {
        try await call(.GET, "/v1/reports/summary", query: [("from", from), ("to", to), ("by", by)])
    }

    /// `POST /v1/submissions/bulk`: one batch of a bulk upload, `contentType` `text/csv` or
    /// `application/x-ndjson` (SPEC §4).
    public func uploadBulk(_ body: [UInt8], contentType: String, dryRun: Bool, atomic: Bool) async throws(ClientError) -> BulkReport {
        try await upload(body, to: "/v1/submissions/bulk", query: [("dry_run", dryRun ? "true" : nil), ("atomic", atomic ? "true" : nil)],
                         contentType: contentType)
    }

    /// `POST /v1/footprints/bulk`: NDJSON, one PACT footprint draft a line; all or nothing.
    /// `idempotencyKey`: a resend after a lost answer replays the first answer instead of storing
    /// the footprints twice.
    public func uploadFootprints(_ body: [UInt8], publish: Bool, idempotencyKey: String) async throws(ClientError) -> FootprintUpload {
        try await upload(body, to: "/v1/footprints/bulk", query: [("publish", publish ? "true" : nil)], contentType: "application/x-ndjson",
                         headers: [("Idempotency-Key", idempotencyKey)])
    }

    /// POSTs a file's bytes and decodes the JSON answer.
    func upload<T: Decodable>(
        _ body: [UInt8], to path: String, query: [(String, String?)], contentType: String, headers: [(String, String)] = []
    ) async throws(ClientError) -> T {
        var request = HTTPClientRequest(url: baseURL + path + Self.queryString(query))
        request.method = .POST
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Content-Type", value: contentType)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(ByteBuffer(bytes: body))
        let (status, data) = try await send(request)
        return try decode(status: status, body: data)
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

    /// Timestamps are RFC 3339, with or without fractional seconds.
    static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            let plain = ISO8601DateFormatter()
            let fractional = ISO8601DateFormatter()
            fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            guard let date = plain.date(from: text) ?? fractional.date(from: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 timestamp: \(text)"))
            }
            return date
        }
        return decoder
    }

    func decode<T: Decodable>(status: Int, body: Data) throws(ClientError) -> T {
        let decoder = Self.makeDecoder()
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
