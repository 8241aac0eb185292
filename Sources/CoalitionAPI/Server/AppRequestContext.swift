import Hummingbird
import Logging
import NIOCore

/// The request context of every route: Hummingbird's core storage plus the request id and the
/// body limit, which the first middleware sets from the server settings.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The `X-Request-ID` received or generated; echoed in the response and in problem bodies.
    public var requestID: String = ""
    public var maxUploadSize: Int = 1 << 20

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}
