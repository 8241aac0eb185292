import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird
import PQ

/// `GET /v1/reports/summary` (anonymous) and `GET /v1/reports/organizations/{id}`; both answer
/// CSV for `Accept: text/csv`.
struct ReportRoutes {
    let env: APIEnvironment

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .get, path: "/v1/reports/summary") { request, context in
                let (from, to, byQuarter) = try Self.period(request)
                let summary = try await env.store.transaction(as: context.actor) { tx in
                    try await tx.coalitionSummary(from: from, to: to, byQuarter: byQuarter)
                }
                if Self.wantsCSV(request) { return Self.csv(summary.totals) }
                return try jsonResponse(summary)
            },
            Endpoint(method: .get, path: "/v1/reports/organizations/{id}") { request, context in
                let actor = try context.requireActor()
                let id = try context.uuid("id", what: "the organization")
                try check(Policy.readOrganization(actor, id), "the organization")
                let (from, to, _) = try Self.period(request)
                let totals = try await env.store.transaction(as: actor) { tx -> [MetricTotal]? in
                    guard try await tx.organization(id: id) != nil else { return nil }
                    return try await tx.organizationTotals(organization: id, from: from, to: to)
                }
                guard let totals else { throw Problems.notFound("the organization") }
                if Self.wantsCSV(request) { return Self.csv(totals) }
                return try jsonResponse(OrganizationReport(organizationID: id, totals: totals))
            },
        ]
    }

    static func period(_ request: Request) throws -> (PQDate?, PQDate?, Bool) {
        let q = request.uri.queryParameters
        var errors: [Problem.FieldError] = []
        func date(_ name: String) -> PQDate? {
            guard let text = q.get(name), !text.isEmpty else { return nil }
            guard let d = PQDate(iso: text) else { errors.append(.init(field: name, message: "must be a date as YYYY-MM-DD")); return nil }
            return d
        }
        let from = date("from")
        let to = date("to")
        if let from, let to, to < from { errors.append(.init(field: "to", message: "must not be before from")) }
        let by = q.get("by") ?? "year"
        if !["year", "quarter"].contains(by) { errors.append(.init(field: "by", message: "must be year or quarter")) }
        if !errors.isEmpty { throw Problems.invalid(errors) }
        return (from, to, by == "quarter")
    }

    static func wantsCSV(_ request: Request) -> Bool {
        (request.headers[.accept] ?? "").lowercased().contains("text/csv")
    }

    static func csv(_ totals: [MetricTotal]) -> Response {
        var text = "metric,unit,aggregation,period,total,submissions,organizations\r\n"
        for t in totals {
            text += [t.metric, t.unit, t.aggregation, t.period, t.total, String(t.submissions), t.organizations.map(String.init) ?? ""]
                .map(csvField).joined(separator: ",") + "\r\n"
        }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
