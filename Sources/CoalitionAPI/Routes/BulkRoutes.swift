import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird
import PQ

/// `POST /v1/submissions/bulk?dry_run=&atomic=`: many submissions of the caller's organization
/// in one CSV or NDJSON body (SPEC §4), validated by the same rules as single submissions and
/// stored set-wise.
struct BulkRoutes {
    let env: APIEnvironment
    static let path = "/v1/submissions/bulk"

    var endpoints: [Endpoint] {
        [Endpoint(method: .post, path: Self.path) { request, context in try await upload(request, context) }]
    }

    /// Refused before storing anything: the report rolls the transaction back.
    struct NothingStored: Error { let report: BulkReport }

    func upload(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        if !actor.canWrite { throw Problems.forbidden("this token has the read scope only") }
        guard actor.role == .memberAdmin || actor.role == .memberEditor else {
            throw Problems.forbidden("only member admins and editors submit progress")
        }
        let q = request.uri.queryParameters
        var flagErrors: [Problem.FieldError] = []
        func flag(_ name: String) -> Bool {
            guard let v = q.get(name) else { return false }
            switch v.lowercased() {
            case "true", "1", "yes", "": return true
            case "false", "0", "no": return false
            default: flagErrors.append(.init(field: name, message: "must be true or false")); return false
            }
        }
        let dryRun = flag("dry_run")
        let atomic = flag("atomic")
        if !flagErrors.isEmpty { throw Problems.invalid(flagErrors) }
        let contentType = (request.headers[.contentType] ?? "").lowercased()
        let isCSV = contentType.hasPrefix("text/csv")
        guard isCSV || contentType.hasPrefix("application/x-ndjson") else {
            throw Problem(status: 415, title: "Unsupported Media Type", detail: "send text/csv or application/x-ndjson")
        }
        let settings = env.settings
        let buffer = try await request.body.collect(upTo: settings.bulkMaxBytes)
        let bytes = Array(buffer.readableBytesView)
        let rows: [BulkRow]
        do {
            rows = isCSV ? try CSVFile.parse(bytes) : try NDJSONFile.parse(bytes)
        } catch {
            if let field = error.field {
                throw Problems.invalid([.init(field: field, message: error.description)])
            }
            throw Problem(status: 400, title: "Bad Request", detail: "the file cannot be read: \(error.description)")
        }
        guard rows.count <= settings.bulkMaxRows else {
            throw Problem(status: 413, title: "Content Too Large",
                          detail: "the file holds \(rows.count) rows; one request takes at most \(settings.bulkMaxRows) (split it into batches)")
        }
        let today = SubmissionRoutes.today()
        do {
            let report = try await env.store.transaction(as: actor) { tx -> BulkReport in
                let organization = try await tx.organization(id: actor.organizationID)
                guard organization?.kind == OrganizationKind.member.rawValue else {
                    throw Problems.forbidden("only member organizations report progress")
                }
                let lookup = try await tx.bulkLookup(projectCodes: Set(rows.compactMap { $0.fields["project"] }))
                var errors: [BulkReport.RowError] = []
                var candidates: [BulkCandidate] = []
                var seen: [String: (line: Int, canonical: Decimal)] = [:]
                var duplicatesUnchanged = 0
                var rejectedLines = Set<Int>()
                for row in rows {
                    func reject(_ field: String, _ message: String) {
                        errors.append(.init(line: row.line, field: field, message: message))
                        rejectedLines.insert(row.line)
                    }
                    for column in BulkColumns.required where row.fields[column] == nil { reject(column, "is required") }
                    if let org = row.fields["organization"], org != organization?.slug {
                        reject("organization", "must be your organization (\(organization?.slug ?? "?")); members submit their own progress")
                    }
                    guard let code = row.fields["project"], let key = row.fields["milestone"] else { continue }
                    guard let project = lookup[code] else { reject("project", "no project with code \(code) is visible to you"); continue }
                    guard project.participates else { reject("project", "your organization does not take part in \(code)"); continue }
                    guard let (milestone, unit, aggregation) = project.milestones[key] else {
                        reject("milestone", "project \(code) has no milestone \(key)")
                        continue
                    }
                    let draft = SubmissionDraft(
                        periodStart: row.fields["period_start"], periodEnd: row.fields["period_end"], value: row.fields["value"],
                        unit: row.fields["unit"], notes: row.fields["notes"], evidenceURL: row.fields["evidence_url"],
                        externalRef: row.fields["external_ref"])
                    switch SubmissionRules.validate(draft, metricUnit: unit, aggregation: aggregation, today: today) {
                    case .failure(let invalid):
                        for e in invalid.errors { reject(e.field, e.message) }
                    case .success(let valid):
                        guard !rejectedLines.contains(row.line) else { continue }
                        let naturalKey = "\(milestone.id)|\(valid.periodStart)|\(valid.periodEnd)"
                        if let earlier = seen[naturalKey] {
                            if earlier.canonical == valid.valueCanonical { duplicatesUnchanged += 1 } else {
                                reject("value", "line \(earlier.line) has the same milestone and period with another value")
                            }
                            continue
                        }
                        seen[naturalKey] = (row.line, valid.valueCanonical)
                        candidates.append(BulkCandidate(line: row.line, milestoneID: milestone.id, projectID: milestone.projectID, submission: valid))
                    }
                }
                if atomic && !errors.isEmpty {
                    throw NothingStored(report: BulkReport(accepted: 0, unchanged: 0, rejected: rejectedLines.count, errors: errors, stored: false))
                }
                let stored = try await tx.storeBulk(candidates, actor: actor)
                for conflict in stored.conflicts {
                    errors.append(.init(line: conflict.line, field: "value",
                                        message: "differs from stored submission \(conflict.existing.uuidString.lowercased()); withdraw it or ask for its rejection first"))
                    rejectedLines.insert(conflict.line)
                }
                errors.sort { ($0.line, $0.field) < ($1.line, $1.field) }
                let report = BulkReport(
                    accepted: stored.accepted.count, unchanged: stored.unchanged.count + duplicatesUnchanged,
                    rejected: rejectedLines.count, errors: errors, stored: !dryRun)
                if atomic && !stored.conflicts.isEmpty {
                    throw NothingStored(report: BulkReport(accepted: 0, unchanged: 0, rejected: rejectedLines.count, errors: errors, stored: false))
                }
                if dryRun { throw NothingStored(report: report) }
                return report
            }
            return try jsonResponse(report)
        } catch let refused as NothingStored {
            return try jsonResponse(refused.report)
        }
    }
}
