import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird
import PQ

/// `POST /v1/submissions/bulk?dry_run=&atomic=`: many submissions of the caller's organization
/// in one CSV or NDJSON body (SPEC §4). The route reads the file and the projects it names;
/// `BulkPlan` decides row by row; the store writes the plan's candidates set-wise.
struct BulkRoutes {
    let env: APIEnvironment
    static let path = "/v1/submissions/bulk"

    var endpoints: [Endpoint] {
        [.writer(.post, Self.path, upload)]
    }

    func upload(_ request: Request, _ context: CallerContext) async throws -> Response {
        let caller = context.caller
        guard caller.role.editsForOrganization else { throw Problems.forbidden("only member admins and editors submit progress") }
        let options = try BulkOptions(request)
        guard let format = BulkFormat(contentType: request.headers[.contentType] ?? "") else {
            throw Problem(status: 415, title: "Unsupported Media Type", detail: "send text/csv or application/x-ndjson")
        }
        let settings = env.settings
        let buffer = try await request.body.collect(upTo: settings.bulkMaxBytes)
        let rows: [BulkRow]
        do {
            rows = format == .csv ? try CSVFile.parse(Array(buffer.readableBytesView)) : try NDJSONFile.parse(Array(buffer.readableBytesView))
        } catch {
            if let field = error.field { throw Problems.invalid([.init(field: field, message: error.description)]) }
            throw Problem(status: 400, title: "Bad Request", detail: "the file cannot be read: \(error.description)")
        }
        guard rows.count <= settings.bulkMaxRows else {
            throw Problem(status: 413, title: "Content Too Large",
                          detail: "the file holds \(rows.count) rows; one request takes at most \(settings.bulkMaxRows) (split it into batches)")
        }
        let report = try await env.store.settledTransaction(as: caller) { tx -> Settlement<BulkReport> in
            guard let organization = try await tx.organization(id: caller.organizationID), organization.kind == .member else {
                throw Problems.forbidden("only member organizations report progress")
            }
            let projects = try await tx.bulkProjects(codes: Set(rows.compactMap { $0.fields["project"] }))
            let plan = BulkPlan(rows: rows, organizationSlug: organization.slug, projects: projects, today: .today(), options: options)
            let stored = plan.storesAnything ? try await tx.storeBulk(plan.candidates, caller: caller) : nil
            let (report, keep) = plan.settle(stored)
            return keep ? .commit(report) : .rollback(report)
        }
        return try jsonResponse(report)
    }
}
