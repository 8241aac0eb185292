import CoalitionModels
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Guards each HTTP/1 connection below the application, where a request that never finishes
/// would otherwise hold a connection and a task for ever: a request must arrive whole (head to
/// end) within `readTimeout` of its head, else it is answered 408 and the connection closed;
/// a header section over the decoder's limits is answered 431 and the connection closed.
/// (A connection with no request in progress is closed by Hummingbird's idle timeout, which
/// also bounds a header section sent a byte at a time.)
final class RequestGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let readTimeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// A response to the current request has started: the guard may only close, not answer.
    private var answered = false

    init(readTimeout: TimeAmount) {
        self.readTimeout = readTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            answered = false
            deadline?.cancel()
            deadline = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: readTimeout) { [self] in
                deadline = nil
                refuse(context, status: 408, title: "Request Timeout",
                       detail: "the request did not arrive whole within \(readTimeout.nanoseconds / 1_000_000_000) s")
            }
        case .body:
            break
        case .end:
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) { answered = true }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError, parserError == .headerOverflow {
            refuse(context, status: 431, title: "Request Header Fields Too Large",
                   detail: "the request's header section is larger than this server accepts")
            return
        }
        context.fireErrorCaught(error)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    /// Answers with a problem document, unless a response has begun, and closes.
    private func refuse(_ context: ChannelHandlerContext, status: Int, title: String, detail: String) {
        guard context.channel.isActive else { return }
        if !answered {
            answered = true
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let body = (try? encoder.encode(Problem(status: status, title: title, detail: detail))) ?? Data()
            let head = HTTPResponse(
                status: .init(code: status),
                headerFields: [.contentType: Problem.mediaType, .contentLength: String(body.count), .connection: "close"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(ByteBuffer(data: body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.close(promise: nil)
    }
}
