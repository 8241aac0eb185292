import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}

/// `Idempotency-Key` on the POSTs of writers: the first request with a key runs and its answer
/// is stored; a retry with the same key and body gets that answer again; the same key with
/// another body is 422; a retry while the first still runs is 409. The route's audience has
/// admitted the caller before this reads a byte of the body.
///
/// The request is identified by a fingerprint of its method, path, query and body: a JSON body
/// by its content (key order and spacing ignored), read whole within the JSON limit; the body of
/// a route that streams (a bulk file of up to 64 MiB) by its bytes, hashed as the handler reads
/// them, never held. The answer is recorded in the request's own transaction
/// (`IdempotentAnswer.record`), so it is stored exactly when the change it answers is.
struct IdempotentReplay: Sendable {
    let store: Store

    func respond(
        to request: Request, key: String, caller: Caller, context: AppRequestContext, endpoint: Endpoint
    ) async throws -> Response {
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw Problems.invalid("Idempotency-Key", "must be 1 to 255 printable ASCII characters")
        }
        let fingerprint = Fingerprint(request)
        var replayable = request
        let known: [UInt8]?
        if endpoint.streamsBody {
            replayable.body = RequestBody(asyncSequence: HashedBody(base: request.body, fingerprint: fingerprint, limit: context.maxUploadSize))
            known = nil
        } else {
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            replayable.body = RequestBody(buffer: body)
            known = fingerprint.ofBody(Array(body.readableBytesView))
        }
        switch try await store.claimIdempotencyKey(key, fingerprint: known, caller: caller) {
        case .running:
            throw Problem(status: 409, title: "Conflict", detail: "a request with this Idempotency-Key is still being processed; retry later")
        case .answered(let stored, let status, let headers, let body):
            if known == nil {
                // Read (and only hash) this retry's body to compare it with the first one's.
                for try await _ in replayable.body {}
            }
            guard (known ?? fingerprint.digest) == stored else {
                throw Problems.invalid("Idempotency-Key", "was used with a different request; use a new key for a new request")
            }
            var fields: HTTPFields = [.idempotentReplayed: "true"]
            for (name, value) in headers { if let field = HTTPField.Name(name) { fields[field] = value } }
            return Response(status: .init(code: status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        case .claimed(let claim):
            let answer = IdempotentAnswer(key: key, claim: claim, route: endpoint.path, fingerprint: fingerprint, known: known)
            let response: Response
            do {
                response = try await IdempotentAnswer.$pending.withValue(answer) { try await endpoint.handler(replayable, context) }
            } catch {
                // Refused or failed: nothing was stored, so the key is given back and a retry
                // runs again (and gets an answer that reflects the state at that time).
                try? await store.releaseIdempotencyKey(key, claim: claim, caller: caller)
                throw error
            }
            if answer.isCommitted { return response }
            // The handler changed nothing (a dry run, an all-or-nothing batch it refused): its
            // answer is recorded now, outside its transaction.
            let (recorded, bytes) = try await answer.stored(response)
            try await store.completeIdempotencyKey(
                key, claim: claim, caller: caller, fingerprint: answer.fingerprintValue, status: recorded.status, headers: recorded.headers,
                body: recorded.body)
            return Response(status: response.status, headers: response.headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}

extension Store {
    /// The last transaction of a writer's request: `body` makes the change and builds the
    /// answer, which is recorded for the request's `Idempotency-Key` in the same transaction.
    /// Without a key nothing follows the body, whose last statement may then carry the COMMIT.
    func answering(as caller: Caller, _ body: (StoreTransaction) async throws -> Response) async throws -> Response {
        let keyed = IdempotentAnswer.pending != nil
        let response = try await transaction(as: caller, concluding: !keyed) { tx in
            try await IdempotentAnswer.record(try await body(tx), in: tx)
        }
        IdempotentAnswer.pending?.commit()
        return response
    }
}

/// The answer of a request that runs under an `Idempotency-Key`, while it runs.
final class IdempotentAnswer: Sendable {
    @TaskLocal static var pending: IdempotentAnswer?

    let key: String
    let claim: UUID
    /// The route's path pattern (not the path as sent): which answers hold a secret.
    let route: String
    private let fingerprint: Fingerprint
    private let known: [UInt8]?
    private let committed = Mutex(false)

    init(key: String, claim: UUID, route: String, fingerprint: Fingerprint, known: [UInt8]?) {
        self.key = key
        self.claim = claim
        self.route = route
        self.fingerprint = fingerprint
        self.known = known
    }

    /// Whether a transaction that recorded the answer has committed.
    var isCommitted: Bool { committed.withLock { $0 } }
    var fingerprintValue: [UInt8] { known ?? fingerprint.digest }

    /// Called once the transaction that recorded the answer committed (not before: a retried
    /// or rolled-back attempt must not count).
    func commit() { committed.withLock { $0 = true } }

    /// Records `response` in `tx` when the request runs under an `Idempotency-Key`, so that
    /// the answer commits with the change it answers; returns the response to send. A request
    /// whose claim a retry took over records nothing and is refused (its transaction rolls back).
    static func record(_ response: Response, in tx: StoreTransaction) async throws -> Response {
        guard let answer = pending else { return response }
        let (stored, bytes) = try await answer.stored(response)
        guard try await tx.recordIdempotentAnswer(
            answer.key, claim: answer.claim, fingerprint: answer.fingerprintValue, status: stored.status, headers: stored.headers,
            body: stored.body)
        else {
            throw Problem(status: 409, title: "Conflict", detail: "a retry with this Idempotency-Key took the request over; nothing was changed by this one")
        }
        return Response(status: response.status, headers: response.headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static let replayedHeaders: Set<HTTPField.Name> = [.contentType, .location, .coalitionOutcome]

    /// Answers that carry a secret shown once, and the field that holds it: stored without it.
    static let secretFields = ["/v1/tokens": ("token", "(shown only once; see prefix)"),
                               "/v1/pact-clients": ("client_secret", "(shown only once)")]

    /// What is stored of `response` (a new token's or PACT client's secret is shown once and
    /// stored nowhere), and the bytes of its body as sent.
    func stored(_ response: Response) async throws -> ((status: Int, headers: [String: String], body: [UInt8]), [UInt8]) {
        let bytes = try await Self.collect(response)
        var headers: [String: String] = [:]
        for field in response.headers where Self.replayedHeaders.contains(field.name) { headers[field.name.rawName] = field.value }
        var body = bytes
        if let (field, placeholder) = Self.secretFields[route], case .object(var object)? = try? JSONValue.parse(bytes), object[field] != nil {
            object[field] = .string(placeholder)
            body = Array(JSONValue.object(object).canonicalText.utf8)
        }
        return ((Int(response.status.code), headers, body), bytes)
    }

    /// Buffers a response body (the API's answers are small JSON documents).
    static func collect(_ response: Response) async throws -> [UInt8] {
        let sink = BodySink()
        try await response.body.write(BufferingWriter(sink: sink))
        return sink.bytes.withLock { $0 }
    }
}

/// The fingerprint of a request: its method, path and query, then its body (JSON by content,
/// anything else by its bytes).
final class Fingerprint: Sendable {
    private let hasher: Mutex<SHA256>

    init(_ request: Request) {
        var hasher = SHA256()
        // The path as routed: "/v1/tokens/" and "/v1/tokens" are one request.
        var path = Substring(request.uri.path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        hasher.update(data: Data("\(request.method.rawValue) \(path)?\(request.uri.query ?? "")\n".utf8))
        self.hasher = Mutex(hasher)
    }

    /// A body read whole: its canonical JSON text, or its bytes when it is not JSON.
    func ofBody(_ bytes: [UInt8]) -> [UInt8] {
        hasher.withLock { hasher in
            if let value = try? JSONValue.parse(bytes) { hasher.update(data: Data(value.canonicalText.utf8)) } else { hasher.update(data: Data(bytes)) }
            return Array(hasher.finalize())
        }
    }

    func update(_ buffer: ByteBuffer) {
        hasher.withLock { hasher in buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } }
    }

    /// The digest of what was hashed so far (the whole body, once it has been read).
    var digest: [UInt8] { hasher.withLock { Array($0.finalize()) } }
}

/// A request body that feeds its bytes to a fingerprint as they pass, and stops at `limit`.
struct HashedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: RequestBody
    let fingerprint: Fingerprint
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let fingerprint: Fingerprint
        let limit: Int
        var seen = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let buffer = try await base.next() else { return nil }
            seen += buffer.readableBytes
            guard seen <= limit else { throw Problem.tooLarge(limit: limit) }
            fingerprint.update(buffer)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), fingerprint: fingerprint, limit: limit)
    }
}

final class BodySink: Sendable {
    let bytes = Mutex<[UInt8]>([])
}

struct BufferingWriter: ResponseBodyWriter {
    let sink: BodySink
    mutating func write(_ buffer: ByteBuffer) async throws { sink.bytes.withLock { $0 += buffer.readableBytesView } }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
