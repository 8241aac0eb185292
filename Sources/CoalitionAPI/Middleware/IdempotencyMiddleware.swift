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

/// `Idempotency-Key` on authenticated POSTs: the first request with a key runs and its answer
/// is stored; a retry with the same key and body gets that answer again; the same key with
/// another body is 422; a retry while the first still runs is 409.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: Store

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.method == .post, let key = request.headers[.idempotencyKey], let actor = context.actor else {
            return try await next(request, context)
        }
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
        switch try await store.claimIdempotencyKey(key, fingerprint: fingerprint, actor: actor) {
        case .mismatch:
            throw Problems.invalid("Idempotency-Key", "was used with a different request; use a new key for a new request")
        case .inProgress:
            throw Problem(status: 409, title: "Conflict", detail: "a request with this Idempotency-Key is still being processed; retry later")
        case .replay(let status, let contentType, let bytes):
            var headers: HTTPFields = [.idempotentReplayed: "true"]
            if let contentType { headers[.contentType] = contentType }
            return Response(status: .init(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        case .claimed:
            var replayable = request
            replayable.body = RequestBody(buffer: body)
            let response: Response
            do {
                response = try await next(replayable, context)
            } catch let problem as Problem where problem.status < 500 {
                // Refused before any change: record the answer, so a retry sees the same one.
                var answered = problem
                answered.requestID = context.requestID
                let encoded = try problemResponse(answered)
                let bytes = try await Self.collect(encoded)
                try await store.completeIdempotencyKey(key, actor: actor, status: problem.status, contentType: Problem.mediaType, body: bytes)
                return Response(status: encoded.status, headers: encoded.headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
            } catch {
                try? await store.releaseIdempotencyKey(key, actor: actor)
                throw error
            }
            let bytes = try await Self.collect(response)
            try await store.completeIdempotencyKey(
                key, actor: actor, status: Int(response.status.code), contentType: response.headers[.contentType], body: bytes)
            return Response(status: response.status, headers: response.headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
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
