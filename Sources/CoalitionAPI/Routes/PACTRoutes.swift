import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird

extension HTTPField.Name {
    static let link = HTTPField.Name("Link")!
    static let pragma = HTTPField.Name("Pragma")!
}

/// A refusal of the PACT API, in the specification's body `{code, message}` (not problem+json).
struct PACTError: Error, Sendable {
    var status: HTTPResponse.Status
    var code: String
    var message: String

    static func badRequest(_ message: String) -> PACTError { PACTError(status: .badRequest, code: "BadRequest", message: message) }
    static func accessDenied(_ message: String) -> PACTError { PACTError(status: .forbidden, code: "AccessDenied", message: message) }
    static func notFound(_ message: String) -> PACTError { PACTError(status: .notFound, code: "NotFound", message: message) }
    static let invalidToken = badRequest("Invalid token provided")
    static let tokenExpired = PACTError(status: .unauthorized, code: "TokenExpired", message: "The access token has expired")
    static let internalError = PACTError(status: .internalServerError, code: "InternalError", message: "An internal error occurred")

    var response: Response {
        let body = JSONValue.object(["code": .string(code), "message": .string(message)]).canonicalText
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// The PACT Data Exchange Protocol v3 host: OAuth 2.0 client credentials (`/auth/token` and its
/// discovery document), `ListFootprints`, `GetFootprint` and `Events`, as the specification
/// says. Only over HTTPS: the server's own TLS, or a trusted proxy (`COALITION_TRUSTED_PROXIES`)
/// that terminated it and says so with `X-Forwarded-Proto: https`; plain HTTP gets 403
/// AccessDenied and no data.
struct PACTRoutes {
    let env: APIEnvironment

    /// Paths this API owns: their `Authorization` is PACT's, not the Coalition API's.
    static func owns(_ path: Substring) -> Bool {
        path == "/auth/token" || path == "/.well-known/openid-configuration" || path == "/3" || path.hasPrefix("/3/")
    }

    static let accessTokenSeconds = 3600
    /// Live access tokens a client may hold; a new one ends its oldest beyond them.
    static let maxLiveTokens = 20
    /// Asynchronous requests of one client waiting for their answer at once.
    static let maxPendingRequests = 1000
    static let defaultPageSize = 100
    static let maxPageSize = 1000

    var endpoints: [Endpoint] {
        [
            .anyone(.post, "/auth/token", pact(issueToken)),
            .anyone(.get, "/.well-known/openid-configuration", pact { request, _ in
                let base = try baseURL(request)
                return json("""
                    {"issuer":\(JSONValue.quoted(base)),"token_endpoint":\(JSONValue.quoted(base + "/auth/token")),\
                    "grant_types_supported":["client_credentials"],"token_endpoint_auth_methods_supported":["client_secret_basic"],\
                    "response_types_supported":["token"],"scopes_supported":["footprint:list","footprint:read"]}
                    """)
            }),
            .anyone(.get, "/3/footprints", pact(listFootprints)),
            .anyone(.get, "/3/footprints/{id}", pact(getFootprint)),
            .anyone(.post, "/3/events", pact(receiveEvent)),
        ]
    }

    /// Served over HTTPS: by the server itself, or by a trusted proxy that terminated TLS and
    /// says so in the last (its own) value of `X-Forwarded-Proto`.
    static func viaHTTPS(_ request: Request, _ context: AppRequestContext, settings: ServerSettings) -> Bool {
        if settings.servesTLS { return true }
        guard context.viaTrustedProxy, let header = request.headers[values: .xForwardedProto].last else { return false }
        return header.split(separator: ",").last?.trimmingCharacters(in: .whitespaces).lowercased() == "https"
    }

    /// Runs a PACT handler over HTTPS only, answering every refusal in the PACT error format.
    func pact(_ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response) -> Endpoint.Handler {
        { [settings = env.settings] request, context in
            do {
                guard Self.viaHTTPS(request, context, settings: settings) else {
                    throw PACTError.accessDenied("The PACT API is served over HTTPS only")
                }
                return try await handler(request, context)
            } catch let error as PACTError {
                return error.response
            } catch let error as OAuthError {
                return error.response
            } catch let error as HTTPError where request.uri.path == "/auth/token" {
                return OAuthError(status: error.status, error: "invalid_request", description: error.body ?? "the request is malformed").response
            } catch let error as HTTPError {
                return PACTError(status: error.status, code: "BadRequest", message: error.body ?? "The request is malformed").response
            } catch {
                context.logger.error("PACT request failed", metadata: ["error": "\(error)"])
                return PACTError.internalError.response
            }
        }
    }

    /// `https://<the request's Host>`: pagination links and the discovery document name the
    /// host the client used, as the specification requires; a Host that is not a host name
    /// (with an optional port) is refused.
    func baseURL(_ request: Request) throws -> String {
        guard let host = request.head.authority, (1...255).contains(host.utf8.count),
            host.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || ".-:[]".unicodeScalars.contains($0)) })
        else { throw PACTError.badRequest("The Host header is missing or malformed") }
        return "https://" + host
    }

    // MARK: - OAuth 2.0 client credentials (RFC 6749 §4.4)

    func issueToken(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 6, header.prefix(6).lowercased() == "basic ",
            let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":")
        else { throw OAuthError.invalidClient }
        let clientID = FormText.decode(pair[..<colon]), secret = FormText.decode(pair[pair.index(after: colon)...])
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else {
            throw OAuthError(status: .badRequest, error: "invalid_request", description: "the body must be application/x-www-form-urlencoded")
        }
        let form = FormText.fields(String(buffer: try await request.body.collect(upTo: 16_384)))
        guard let grant = form["grant_type"] else {
            throw OAuthError(status: .badRequest, error: "invalid_request", description: "grant_type is required")
        }
        guard grant == "client_credentials" else {
            throw OAuthError(status: .badRequest, error: "unsupported_grant_type", description: "only client_credentials is supported")
        }
        guard clientID.utf8.count <= 200, secret.utf8.count <= 200,
            let client = try await env.store.withoutCaller({ try await $0.pactClientCredentials(clientID: clientID) }),
            TokenSecret.digestsMatch(client.secretHash, PACTCredentials.hash(secret)), !client.disabled
        else { throw OAuthError.invalidClient }
        let token = PACTCredentials.newAccessToken()
        try await env.store.withoutCaller {
            try await $0.issuePACTToken(
                hash: PACTCredentials.hash(token), client: client.id, lifetimeSeconds: Self.accessTokenSeconds, maxLive: Self.maxLiveTokens)
        }
        var response = json("""
            {"access_token":\(JSONValue.quoted(token)),"token_type":"Bearer","expires_in":\(Self.accessTokenSeconds),\
            "scope":\(JSONValue.quoted(client.scopes.joined(separator: " ")))}
            """)
        response.headers[.cacheControl] = "no-store"
        response.headers[.pragma] = "no-cache"
        return response
    }

    /// The client holding the request's access token: 400 when there is none or it is unknown
    /// (as the conformance tests expect), 401 TokenExpired, 403 without the scope.
    func holder(_ request: Request, scope: String) async throws -> PACTTokenHolder {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw PACTError.invalidToken
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard token.hasPrefix("pat_"), token.utf8.count <= 100,
            let holder = try await env.store.withoutCaller({ try await $0.pactTokenHolder(hash: PACTCredentials.hash(token)) })
        else { throw PACTError.invalidToken }
        guard holder.expiresAt > Date() else { throw PACTError.tokenExpired }
        guard !holder.disabled else { throw PACTError.accessDenied("This client is disabled") }
        guard holder.scopes.contains(scope) else { throw PACTError.accessDenied("This client lacks the scope \(scope)") }
        return holder
    }

    // MARK: - footprints

    func listFootprints(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let holder = try await holder(request, scope: "footprint:list")
        // Bounds the work and the pagination link that repeats the query.
        guard (request.uri.query?.utf8.count ?? 0) <= 8_192 else { throw PACTError.badRequest("The query is longer than 8 KiB") }
        let query = try PACTListQuery(request.uri.queryParameters)
        let rows = try await env.store.readAsPACTClient(organization: holder.organizationID) {
            try await $0.pactFootprints(query.filter, after: query.after, limit: query.limit + 1)
        }
        let shown = rows.prefix(query.limit)
        var response = json("{\"data\":[" + shown.map(\.json).joined(separator: ",") + "]}")
        if rows.count > query.limit, let last = shown.last {
            response.headers[.link] = "<\(try baseURL(request))/3/footprints?\(query.next(after: (last.micros, last.id)))>; rel=\"next\""
        }
        return response
    }

    func getFootprint(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let holder = try await holder(request, scope: "footprint:read")
        let text = context.parameters.get("id") ?? ""
        let shown = text.count <= 100 ? text : String(text.prefix(100)) + "…"
        guard let id = UUID(uuidString: text) else { throw PACTError.notFound("Footprint with ID '\(shown)' does not exist") }
        let document = try await env.store.readAsPACTClient(organization: holder.organizationID) { tx -> String? in
            if let document = try await tx.pactFootprint(id: id) { return document }
            // Published, but of an organization this client does not act for: 403, as the
            // specification says; drafts and unknown ids are 404.
            if try await tx.isPublishedFootprint(id: id) { throw PACTError.accessDenied("This client may not access footprint '\(shown)'") }
            return nil
        }
        guard let document else { throw PACTError.notFound("Footprint with ID '\(shown)' does not exist") }
        return json("{\"data\":" + document + "}")
    }

    // MARK: - events

    func receiveEvent(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let holder = try await holder(request, scope: "footprint:list")
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/cloudevents+json") || type.hasPrefix("application/json") else {
            throw PACTError.badRequest("Events are sent as application/cloudevents+json")
        }
        let buffer = try await request.body.collect(upTo: env.settings.maxBodyBytes)
        let event = try PACTEvent(parsing: Array(buffer.readableBytesView))
        switch event.kind {
        case .requestCreated:
            guard let callback = try await env.store.withoutCaller({ try await $0.pactCallback(client: holder.clientID) }),
                callback.clientID != nil
            else {
                throw PACTError.badRequest("This client has no callback credentials; register them to send RequestCreated events")
            }
            let request: JSONValue = .object(["data": event.data, "host": .string(try baseURL(request))])
            let enqueued = try await env.store.withoutCaller {
                try await $0.enqueuePACTDelivery(
                    client: holder.clientID, requestEventID: event.id, source: event.source, request: request, maxPending: Self.maxPendingRequests)
            }
            guard enqueued != .full else {
                throw PACTError.badRequest("This client has \(Self.maxPendingRequests) requests waiting for their answer; send more once they are answered")
            }
            context.logger.info("PACT request received", metadata: ["event_id": "\(event.id)", "source": "\(event.source)", "repeat": "\(enqueued == .repeated)"])
        case .requestFulfilled, .requestRejected, .published:
            context.logger.info("PACT event received", metadata: ["event_id": "\(event.id)", "type": "\(event.type)", "source": "\(event.source)"])
        }
        return Response(status: .ok)
    }

    func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// An OAuth 2.0 error (RFC 6749 §5.2): `{error, error_description}`.
struct OAuthError: Error, Sendable {
    var status: HTTPResponse.Status
    var error: String
    var description: String

    static let invalidClient = OAuthError(status: .unauthorized, error: "invalid_client", description: "Client authentication failed")

    var response: Response {
        let body = JSONValue.object(["error": .string(error), "error_description": .string(description)]).canonicalText
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Basic realm=\"coalition\"" }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// `application/x-www-form-urlencoded` text.
enum FormText {
    static func decode(_ text: Substring) -> String {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
    }

    /// The fields of a form body; the first of a repeated name wins; at most 50 fields.
    static func fields(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&").prefix(50) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(parts[0])
            if fields[name] == nil { fields[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return fields
    }

    /// RFC 3986's unreserved characters (ASCII only) and ':'.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:")

    /// Percent-encodes a query value or a credential (RFC 6749 §2.3.1), UTF-8 for the rest.
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
