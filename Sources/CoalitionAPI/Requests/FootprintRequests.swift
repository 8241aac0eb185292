import CoalitionDomain
import CoalitionModels
import Foundation
import Hummingbird

/// `POST /v1/footprints`: `{"footprint": {…a PACT v3 ProductFootprint without the fields the
/// server sets…}, "standard_id": …}`. The document is judged by `FootprintRules` (422 naming
/// each field as `footprint.<path>`), and its timestamps are stored in UTC with `Z`.
struct FootprintDraftRequest {
    var document: JSONValue
    var facets: FootprintFacets
    var preceding: [UUID]
    var standardID: UUID?

    /// Timestamp fields of the document, rewritten to UTC (`pcf.` ones inside `pcf`).
    static let timestampFields = ["validityPeriodStart", "validityPeriodEnd"]
    static let pcfTimestampFields = ["referencePeriodStart", "referencePeriodEnd"]

    static func read(_ request: Request, limit: Int) async throws -> FootprintDraftRequest {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["footprint", "standard_id"])
        let standardID = body.uuid("standard_id", "the id of a standard")
        guard let document = body.value("footprint") else {
            body.fail("footprint", "is required")
            try body.finish()
            throw Problems.invalid("footprint", "is required")
        }
        switch judge(document) {
        case .success(var draft):
            draft.standardID = standardID
            try body.finish()
            return draft
        case .failure(let invalid):
            let errors = invalid.errors.map { Problem.FieldError(field: $0.field == "$" ? "footprint" : "footprint." + $0.field, message: $0.message) }
            for error in errors { body.fail(error.field, error.message) }
            try body.finish()
            throw Problems.invalid(errors)
        }
    }

    /// A draft document judged by `FootprintRules`, with its timestamps in UTC and its facets;
    /// or every problem, named by path within the document.
    static func judge(_ document: JSONValue) -> Result<FootprintDraftRequest, InvalidDocument> {
        var errors = FootprintRules.validateDraft(document)
        // PostgreSQL's jsonb cannot hold U+0000.
        if document.canonicalText.contains("\\u0000") { errors.append(.init(field: "$", message: "must not contain the NUL character")) }
        guard errors.isEmpty else { return .failure(InvalidDocument(errors: errors)) }
        let normalized = utc(document)
        var preceding: [UUID] = []
        if case .array(let ids)? = normalized["precedingPfIds"] {
            for case .string(let text) in ids { if let id = UUID(uuidString: text) { preceding.append(id) } }
        }
        return .success(FootprintDraftRequest(document: normalized, facets: FootprintRules.facets(of: normalized), preceding: preceding, standardID: nil))
    }

    struct InvalidDocument: Error {
        var errors: [Problem.FieldError]
    }

    /// The document with its timestamps in UTC and written with `Z` (the rules accept offsets).
    static func utc(_ document: JSONValue) -> JSONValue {
        guard case .object(var top) = document else { return document }
        for key in timestampFields { top[key] = top[key].map(utc(timestamp:)) }
        if case .object(var pcf)? = top["pcf"] {
            for key in pcfTimestampFields { pcf[key] = pcf[key].map(utc(timestamp:)) }
            top["pcf"] = .object(pcf)
        }
        return .object(top)
    }

    static func utc(timestamp value: JSONValue) -> JSONValue {
        guard case .string(let text) = value, let date = FootprintRules.timestamp(text) else { return value }
        return .string(PACTTime.format(date))
    }
}

/// Timestamps as PACT writes them: RFC 3339 in UTC with `Z`; whole seconds unless the time has
/// a fraction (then milliseconds), so that rewriting never makes two instants equal.
enum PACTTime {
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        let fraction = date.timeIntervalSince1970 - date.timeIntervalSince1970.rounded(.down)
        formatter.formatOptions = fraction == 0 ? [.withInternetDateTime] : [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

/// `POST /v1/pact-clients`: a data recipient to register.
struct PACTClientRequest {
    var name: String
    var organizationID: UUID?
    var callbackClientID: String?
    var callbackClientSecret: String?

    static func read(_ request: Request, limit: Int) async throws -> PACTClientRequest {
        var body = try await JSONBody.read(
            request, limit: limit, allowed: ["name", "organization_id", "callback_client_id", "callback_client_secret"])
        let name = body.string("name", required: true) { Validate.length($0, 1...100) }
        let organization = body.uuid("organization_id", "the id of an organization")
        let callbackID = body.string("callback_client_id") { Validate.length($0, 1...200) }
        let callbackSecret = body.string("callback_client_secret") { Validate.length($0, 1...500) }
        if (callbackID == nil) != (callbackSecret == nil) {
            body.fail(callbackID == nil ? "callback_client_id" : "callback_client_secret", "callback_client_id and callback_client_secret go together")
        }
        try body.finish()
        return PACTClientRequest(name: name ?? "", organizationID: organization, callbackClientID: callbackID, callbackClientSecret: callbackSecret)
    }
}
