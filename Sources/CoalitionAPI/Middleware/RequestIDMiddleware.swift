import CoalitionDomain
import Foundation
import HTTPTypes
import Hummingbird

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-ID")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}

/// Accepts a sane `X-Request-ID` or makes one, puts it in the logger's metadata and echoes it
/// on the response, errors included. Also applies the configured body limit to the context, and
/// takes the client's address from `X-Forwarded-For` when the peer is a trusted proxy.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let maxBodyBytes: Int
    /// Bulk uploads take larger bodies than the other routes.
    let bulkMaxBytes: Int
    var trustedProxies = TrustedProxies.none

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let id = request.headers[.requestID].flatMap(Self.acceptable) ?? UUID().uuidString.lowercased()
        context.requestID = id
        let path = request.uri.path
        context.maxUploadSize = switch path {
        case BulkRoutes.path: bulkMaxBytes
        case FootprintRoutes.bulkPath: FootprintRoutes.bulkMaxBytes
        case ConsoleRoutes.uploadPath: ConsoleUpload.limit(file: ConsoleRoutes.uploadMaxBytes)
        case _ where ConsoleRoutes.isDraftForm(path): max(maxBodyBytes, ConsoleForm.draftMaxBytes)
        default: maxBodyBytes
        }
        context.logger[metadataKey: "request_id"] = "\(id)"
        if !trustedProxies.isEmpty {
            context.viaTrustedProxy = trustedProxies.contains(context.clientAddress)
            context.clientAddress = trustedProxies.client(peer: context.clientAddress, forwardedFor: request.headers[values: .xForwardedFor])
        }
        var response = try await next(request, context)
        response.headers[.requestID] = id
        return response
    }

    /// Client ids are kept when they are short printable tokens, so that logs stay clean.
    static func acceptable(_ value: String) -> String? {
        guard (1...128).contains(value.utf8.count),
            value.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "\"") })
        else { return nil }
        return value
    }
}
