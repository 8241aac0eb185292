import CoalitionModels
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// Guards each HTTP/1 connection below the application, where a client that never finishes
/// would otherwise hold a connection and a task for ever:
/// - a new connection must send its first request's head within `headerTimeout`, else it is
///   closed (then Hummingbird's idle timeout bounds the time between requests);
/// - a request must arrive whole: the time the server spends waiting for its bytes (while it
///   asks for more; not while it is busy and leaves them in the socket) may not exceed
///   `readTimeout`, else it is answered 408 and the connection closed;
/// - a header section over the decoder's limits is answered 431 and the connection closed;
/// - one client address holds at most `connections.perAddress` connections at once.
final class RequestGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let readTimeout: TimeAmount
    let headerTimeout: TimeAmount
    let connections: ConnectionsPerAddress

    private var started = false
    private var address: String?
    private var timer: Scheduled<Void>?
    /// Requests whose head arrived, responses that ended, and whether one is being written.
    private var headsRead = 0
    private var responsesEnded = 0
    private var responseOpen = false
    /// Between a request's head and its end.
    private var reading = false
    /// What is left of `readTimeout` for the request being read.
    private var budget = TimeAmount.zero
    /// The server asked for bytes of an unfinished request and none came yet.
    private var waitingSince: NIODeadline?

    init(readTimeout: TimeAmount, headerTimeout: TimeAmount, connections: ConnectionsPerAddress) {
        self.readTimeout = readTimeout
        self.headerTimeout = headerTimeout
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard connections.open(address) else {
            context.close(promise: nil)
            return
        }
        self.address = address
        schedule(context, in: headerTimeout) { handler, context in
            if handler.headsRead == 0 { context.close(promise: nil) }
        }
    }

    func read(context: ChannelHandlerContext) {
        if reading, waitingSince == nil {
            waitingSince = .now()
            schedule(context, in: budget) { handler, context in
                handler.refuse(context, status: 408, title: "Request Timeout",
                               detail: "the request did not arrive whole within \(handler.readTimeout.nanoseconds / 1_000_000_000) s")
            }
        }
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            headsRead += 1
            reading = true
            budget = readTimeout
            waitingSince = nil
            cancelTimer()
        case .body:
            if let since = waitingSince {
                budget = budget - (.now() - since)
                waitingSince = nil
                cancelTimer()
            }
        case .end:
            reading = false
            waitingSince = nil
            cancelTimer()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: responseOpen = true
        case .body: break
        case .end:
            responseOpen = false
            responsesEnded += 1
        }
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

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    private func finish() {
        cancelTimer()
        if let address {
            connections.close(address)
            self.address = nil
        }
    }

    private func schedule(_ context: ChannelHandlerContext, in delay: TimeAmount, _ fire: @escaping (RequestGuardHandler, ChannelHandlerContext) -> Void) {
        cancelTimer()
        timer = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: max(delay, .zero)) { [self] in
            timer = nil
            fire(self, context)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    /// Answers with a problem document when nothing else is being answered on the connection
    /// (no response begun, no earlier request still waiting for one), and closes.
    private func refuse(_ context: ChannelHandlerContext, status: Int, title: String, detail: String) {
        guard context.channel.isActive else { return }
        if !responseOpen && headsRead <= responsesEnded + 1 {
            let id = UUID().uuidString.lowercased()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let body = (try? encoder.encode(Problem(status: status, title: title, detail: detail, requestID: id))) ?? Data()
            let head = HTTPResponse(
                status: .init(code: status),
                headerFields: [
                    .contentType: Problem.mediaType, .contentLength: String(body.count), .connection: "close", .requestID: id,
                ])
            responseOpen = true
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(ByteBuffer(data: body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.close(promise: nil)
    }
}

/// Connections open per client address, shared by every connection's guard.
final class ConnectionsPerAddress: Sendable {
    let perAddress: Int
    private let open = Mutex<[String: Int]>([:])

    init(perAddress: Int) {
        self.perAddress = perAddress
    }

    /// Counts a new connection from `address`; false (and not counted) when it has too many.
    func open(_ address: String) -> Bool {
        open.withLock { open in
            let count = open[address, default: 0]
            guard count < perAddress else { return false }
            open[address] = count + 1
            return true
        }
    }

    func close(_ address: String) {
        open.withLock { open in
            let count = open[address, default: 0] - 1
            open[address] = count > 0 ? count : nil
        }
    }
}
