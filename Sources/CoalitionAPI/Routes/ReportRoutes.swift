import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// `GET /v1/reports/summary` (anonymous) and `GET /v1/reports/organizations/{id}`; both answer
/// CSV for `Accept: text/csv`.
struct ReportRoutes {
    let env: APIEnvironment

    var endpoints: [Endpoint] {
        [
            .anyone(.get, "/v1/reports/summary") { request, context in
                let period = try ReportPeriod(request)
                let summary = try await env.store.transaction(as: context.caller) { tx in
                    try await tx.coalitionSummary(from: period.from, to: period.to, by: period.grouping)
                }
                if Self.wantsCSV(request) { return Self.csv(summary.totals) }
                return try jsonResponse(summary)
            },
            .caller(.get, "/v1/reports/organizations/{id}") { request, context in
                let id = try context.uuid("id", what: "the organization")
                try check(Policy.readOrganization(context.caller, id), "the organization")
                let period = try ReportPeriod(request)
                let report = try await env.store.transaction(as: context.caller) { tx -> OrganizationReport? in
                    guard try await tx.organization(id: id) != nil else { return nil }
                    return OrganizationReport(
                        organizationID: id, totals: try await tx.organizationTotals(organization: id, from: period.from, to: period.to),
                        footprints: try await tx.reportedFootprints(organization: id))
                }
                guard let report else { throw Problems.notFound("the organization") }
                if Self.wantsCSV(request) { return Self.csv(report.totals) }
                return try jsonResponse(report)
            },
        ]
    }

    static func wantsCSV(_ request: Request) -> Bool {
        (request.headers[.accept] ?? "").lowercased().contains("text/csv")
    }

    static func csv(_ totals: [MetricTotal]) -> Response {
        let rows = totals.map { t in
            [t.metric, t.unit, t.aggregation.rawValue, t.period.description, t.total, String(t.submissions), t.organizations.map(String.init) ?? ""]
        }
        let text = CSVText.document(header: ["metric", "unit", "aggregation", "period", "total", "submissions", "organizations"], rows: rows)
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
