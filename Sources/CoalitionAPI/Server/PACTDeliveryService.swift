import AsyncHTTPClient
import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import PQ
import ServiceLifecycle

/// Answers PACT RequestCreated events: every second it takes the due rows of `pact_deliveries`
/// one at a time (each leased, so that one server attempts it), finds the footprints the request's criteria
/// match as the requesting client may see them, obtains a token at the requester's host with
/// the client's callback credentials, and POSTs a RequestFulfilled event (or RequestRejected
/// when nothing matches) to its `/3/events`. A failed attempt is due again after 1 s, 2 s, 4 s…
/// (at most an hour); after 80 attempts (about 72 hours) the request is given up. Rows outlive
/// restarts; a server that dies mid-attempt leaves its lease to expire (at-least-once delivery).
struct PACTDeliveryService: Service {
    let store: Store
    let settings: ServerSettings
    let logger: Logger

    static let maxAttempts = 80
    /// One attempt (discovery, token, event) is cut off after `attemptSeconds`, well within its
    /// lease, so that no other server takes the delivery while it is still being attempted.
    static let attemptSeconds = 60
    static let leaseSeconds = 120
    static let maxFootprints = 1000
    static let maxResponseBytes = 1 << 20

    static func retryDelay(afterAttempts attempts: Int) -> Int { min(3600, 1 << min(attempts, 12)) }

    func run() async throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        if !settings.outboundCAFile.isEmpty { tls.additionalTrustRoots = [.file(settings.outboundCAFile)] }
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(
                tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(15)),
                proxy: nil, ignoreUncleanSSLShutdown: false, decompression: .disabled))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                // Due deliveries one at a time, each under its own lease, until none is due.
                while !Task.isShuttingDownGracefully,
                    let (delivery, lease) = try await store.withoutCaller({ try await $0.takeDueDelivery(leaseSeconds: Self.leaseSeconds) })
                {
                    await attempt(delivery, lease: lease, client: client)
                }
            } catch let error as PQError where error.kind == .poolClosed || error.kind == .cancelled {
                break
            } catch is CancellationError {
                break
            } catch {
                logger.warning("PACT deliveries could not be read; retrying", metadata: ["error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            } catch {
                break
            }
        }
        try? await client.shutdown()
    }

    func attempt(_ delivery: PACTDelivery, lease: UUID, client: HTTPClient) async {
        let metadata: Logger.Metadata = ["delivery_id": "\(delivery.id)", "request_event_id": "\(delivery.requestEventID)"]
        do {
            let outcome = try await withThrowingTaskGroup(of: String.self) { group in
                group.addTask { try await deliver(delivery, client: client) }
                group.addTask {
                    try await Task.sleep(for: .seconds(Self.attemptSeconds))
                    throw Failure(description: "no answer within \(Self.attemptSeconds) s")
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
            try await store.withoutCaller {
                try await $0.recordDeliveryAttempt(delivery.id, lease: lease, delivered: outcome, error: nil, retryAfterSeconds: nil)
            }
            logger.info("PACT request answered", metadata: metadata.merging(["outcome": "\(outcome)"]) { $1 })
        } catch {
            let attempts = delivery.attempts + 1
            let retry = attempts < Self.maxAttempts ? Self.retryDelay(afterAttempts: delivery.attempts) : nil
            let reason = String("\(error)".prefix(500))
            _ = try? await store.withoutCaller {
                try await $0.recordDeliveryAttempt(delivery.id, lease: lease, delivered: nil, error: reason, retryAfterSeconds: retry)
            }
            logger.warning(
                retry == nil ? "PACT request given up" : "PACT request not delivered; will retry",
                metadata: metadata.merging(["error": "\(reason)", "attempts": "\(attempts)", "retry_in_seconds": "\(retry.map(String.init) ?? "never")"]) { $1 })
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// One attempt; returns the event type sent. Every attempt of a delivery sends the same
    /// event id (the delivery's), so that a recipient can tell a repeat.
    func deliver(_ delivery: PACTDelivery, client: HTTPClient) async throws -> String {
        guard let target = PACTCallbackTarget(source: delivery.source) else { throw Failure(description: "the source is not an https URL") }
        guard let callback = try await store.withoutCaller({ try await $0.pactCallback(client: delivery.clientID) }),
            let callbackID = callback.clientID, let sealed = callback.sealedSecret
        else { throw Failure(description: "the client has no callback credentials") }
        guard let key = settings.secretsKey else { throw Failure(description: "COALITION_SECRETS_KEY is not set") }
        let secret = try PACTCredentials.open(sealed, key: key)
        guard case .object(let data)? = delivery.request["data"] else { throw Failure(description: "the stored request has no data") }
        let filter = try PACTEvent.criteria(data)
        let found = try await store.readAsPACTClient(organization: callback.organizationID) {
            try await $0.pactFootprints(filter, after: nil, limit: Self.maxFootprints)
        }
        let ourHost: String = if case .string(let host)? = delivery.request["host"] { host } else { "https://coalition" }
        let type: String, payload: String
        if found.isEmpty {
            type = "RequestRejected"
            payload = "{\"requestEventId\":\(JSONValue.quoted(delivery.requestEventID)),\"error\":{\"code\":\"NotFound\",\"message\":\"No footprint matches the request\"}}"
        } else {
            type = "RequestFulfilled"
            payload = "{\"requestEventId\":\(JSONValue.quoted(delivery.requestEventID)),\"pfs\":[" + found.map(\.json).joined(separator: ",") + "]}"
        }
        let event = """
            {"specversion":"1.0","id":\(JSONValue.quoted(delivery.id.uuidString.lowercased())),\
            "source":\(JSONValue.quoted(ourHost + "/3/events")),"time":\(JSONValue.quoted(PACTTime.format(Date()))),\
            "type":"org.wbcsd.pact.ProductFootprint.\(type)Event.3","data":\(payload)}
            """
        if !settings.outboundAllowPrivate { try await OutboundAddress.check(host: target.host) }
        let token = try await accessToken(at: target, clientID: callbackID, secret: secret, client: client)
        var request = HTTPClientRequest(url: target.base + "/3/events")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/cloudevents+json; charset=UTF-8")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.body = .bytes(ByteBuffer(string: event))
        let response = try await client.execute(request, timeout: .seconds(20))
        _ = try? await response.body.collect(upTo: Self.maxResponseBytes)
        guard (200..<300).contains(response.status.code) else { throw Failure(description: "\(target.base)/3/events answered \(response.status.code)") }
        return type
    }

    /// A bearer token from the requester's token endpoint (named by its discovery document when
    /// it has one), by client credentials.
    func accessToken(at target: PACTCallbackTarget, clientID: String, secret: String, client: HTTPClient) async throws -> String {
        var endpoint = target.base + "/auth/token"
        let discovery = try? await client.execute(HTTPClientRequest(url: target.base + "/.well-known/openid-configuration"), timeout: .seconds(10))
        if let discovery, discovery.status == .ok, let body = try? await discovery.body.collect(upTo: Self.maxResponseBytes),
            case .string(let named)? = (try? JSONValue.parse(Array(body.readableBytesView)))?["token_endpoint"],
            PACTCallbackTarget(source: named)?.base == target.base
        {
            // Only a token endpoint of the same host: the callback secret goes nowhere else.
            endpoint = named
        }
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        let basic = Data((FormText.encode(clientID) + ":" + FormText.encode(secret)).utf8).base64EncodedString()
        request.headers.add(name: "Authorization", value: "Basic \(basic)")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: "grant_type=client_credentials"))
        let response = try await client.execute(request, timeout: .seconds(15))
        let body = try await response.body.collect(upTo: Self.maxResponseBytes)
        guard response.status == .ok, case .string(let token)? = (try? JSONValue.parse(Array(body.readableBytesView)))?["access_token"] else {
            throw Failure(description: "\(endpoint) gave no access token (status \(response.status.code))")
        }
        return token
    }
}
