import CoalitionDomain
import Hummingbird
import Logging
import NIOCore

/// The request context of every route: Hummingbird's core storage plus the request id, the body
/// limit (set by the first middleware from the settings), the client address and the caller.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The `X-Request-ID` received or generated; echoed in the response and in problem bodies.
    public var requestID: String = ""
    public var maxUploadSize: Int = 1 << 20
    /// The client's IP address, for login throttling and audit: the peer's, or behind a trusted
    /// proxy the one its `X-Forwarded-For` names (`RequestIDMiddleware`, `TrustedProxies`).
    public var clientAddress: String
    /// The peer is one of `COALITION_TRUSTED_PROXIES`: its `X-Forwarded-*` headers are believed.
    public var viaTrustedProxy = false
    /// The authenticated caller; nil for anonymous requests.
    public var caller: Caller?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}
