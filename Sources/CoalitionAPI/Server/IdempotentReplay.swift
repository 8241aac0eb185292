import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}

/// `Idempotency-Key` on the POSTs of writers: the first request with a key runs and its
/// answer is stored; a retry with the same key and body gets that answer again; the same key
/// with another body is 422; a retry while the first still runs is 409. The route's audience
/// has admitted the caller before this reads a byte of the body.
struct IdempotentReplay: Sendable {
    let store: Store

    func respond(
        to request: Request, key: String, caller: Caller, context: AppRequestContext, handler: Endpoint.Handler
    ) async throws -> Response {
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw Problems.invalid("Idempotency-Key", "must be 1 to 255 printable ASCII characters")
        }
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        var hasher = SHA256()
        hasher.update(data: Data("\(request.method.rawValue) \(request.uri.path)?\(request.uri.query ?? "")\n".utf8))
        // JSON bodies are compared by content (key order and spacing do not matter); others
        // byte for byte.
        let bytes = Array(body.readableBytesView)
        if (request.headers[.contentType] ?? "application/json").contains("json"), let json = try? JSONValue.parse(bytes) {
            hasher.update(data: Data(json.canonicalText.utf8))
        } else {
            hasher.update(data: Data(bytes))
        }
        let fingerprint = Array(hasher.finalize())
        switch try await store.claimIdempotencyKey(key, fingerprint: fingerprint, caller: caller) {
        case .mismatch:
            throw Problems.invalid("Idempotency-Key", "was used with a different request; use a new key for a new request")
        case .inProgress:
            throw Problem(status: 409, title: "Conflict", detail: "a request with this Idempotency-Key is still being processed; retry later")
        case .replay(let status, let stored, let bytes):
            var headers: HTTPFields = [.idempotentReplayed: "true"]
            for (name, value) in stored { if let field = HTTPField.Name(name) { headers[field] = value } }
            return Response(status: .init(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        case .claimed:
            var replayable = request
            replayable.body = RequestBody(buffer: body)
            let response: Response
            do {
                response = try await handler(replayable, context)
            } catch {
                // Refused or failed: nothing was stored, so the key is given back and a retry
                // runs again (and gets an answer that reflects the state at that time).
                try? await store.releaseIdempotencyKey(key, caller: caller)
                throw error
            }
            let bytes = try await Self.collect(response)
            var stored: [String: String] = [:]
            for field in response.headers where Self.replayedHeaders.contains(field.name) { stored[field.name.rawName] = field.value }
            try await store.completeIdempotencyKey(
                key, caller: caller, status: Int(response.status.code), headers: stored, body: Self.withoutSecrets(bytes, path: request.uri.path))
            return Response(status: response.status, headers: response.headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    static let replayedHeaders: Set<HTTPField.Name> = [.contentType, .location, .coalitionOutcome]

    /// A new token's secret is shown once and stored nowhere: the stored answer keeps the
    /// token's id and prefix, not the secret.
    static func withoutSecrets(_ bytes: [UInt8], path: String) -> [UInt8] {
        guard path == "/v1/tokens", case .object(var object)? = try? JSONValue.parse(bytes), object["token"] != nil else { return bytes }
        object["token"] = .string("(shown only once; see prefix)")
        return Array(JSONValue.object(object).canonicalText.utf8)
    }

    /// Buffers a response body (the API's answers are small JSON documents).
    static func collect(_ response: Response) async throws -> [UInt8] {
        let sink = BodySink()
        try await response.body.write(BufferingWriter(sink: sink))
        return sink.bytes
    }
}

final class BodySink: @unchecked Sendable {
    // Written by one writer in sequence, read after it finished.
    var bytes: [UInt8] = []
}

struct BufferingWriter: ResponseBodyWriter {
    let sink: BodySink
    mutating func write(_ buffer: ByteBuffer) async throws { sink.bytes += buffer.readableBytesView }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
