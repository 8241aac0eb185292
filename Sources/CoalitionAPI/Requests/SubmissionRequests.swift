import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

extension SubmissionDraft {
    /// `POST /v1/milestones/{id}/submissions`: `{period_start, period_end, value, unit, notes?,
    /// evidence_url?, external_ref?}`. Read as text; `SubmissionRules` judges the values, the
    /// same way for one submission and for a bulk row.
    static func read(_ request: Request, limit: Int) async throws -> SubmissionDraft {
        var body = try await JSONBody.read(request, limit: limit, allowed: [
            "period_start", "period_end", "value", "unit", "notes", "evidence_url", "external_ref",
        ])
        let draft = SubmissionDraft(
            periodStart: body.string("period_start"), periodEnd: body.string("period_end"), value: body.decimalText("value"),
            unit: body.string("unit"), notes: body.string("notes"), evidenceURL: body.string("evidence_url"),
            externalRef: body.string("external_ref"))
        try body.finish()
        return draft
    }
}

/// The key of the submissions feed: the last row's change time (microseconds) and id, so that
/// pages do not shift when rows are added.
struct SubmissionFeedKey: CursorKey {
    var micros: Int64
    var id: UUID

    init(micros: Int64, id: UUID) {
        self.micros = micros
        self.id = id
    }

    init?(cursorText: String) {
        let parts = cursorText.split(separator: "|")
        guard parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else { return nil }
        self.init(micros: micros, id: id)
    }

    var cursorText: String { "\(micros)|\(id.uuidString.lowercased())" }
}

/// `GET /v1/submissions?project=&milestone=&organization=&status=&updated_after=&limit=&cursor=`.
struct SubmissionQuery {
    var filter: SubmissionFilter
    var page: PageRequest<SubmissionFeedKey>

    init(_ request: Request) throws {
        var query = QueryReader(request)
        filter = SubmissionFilter()
        filter.project = query.uuid("project")
        filter.milestone = query.uuid("milestone")
        filter.organization = query.uuid("organization")
        filter.status = query.enumeration("status", SubmissionStatus.self)
        filter.updatedAfter = query.timestamp("updated_after")
        page = query.page(SubmissionFeedKey.self)
        try query.finish()
    }
}
