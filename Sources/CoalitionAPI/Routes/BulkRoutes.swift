import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import HTTPTypes
import Hummingbird
import PQ

/// `POST /v1/submissions/bulk?dry_run=&atomic=`: many submissions of the caller's organization
/// in one CSV or NDJSON body (SPEC §4). Who may upload, the flags and the media type are
/// checked before a byte of the body is read; the body is then read as a stream, record by
/// record, with the byte, row and record limits enforced as it arrives, so that memory follows
/// the valid rows kept for COPY, never the body. `BulkPlan` judges each row as it comes; the
/// store writes the plan's candidates set-wise in one transaction at the end.
struct BulkRoutes {
    let env: APIEnvironment
    static let path = "/v1/submissions/bulk"

    var endpoints: [Endpoint] {
        [.writer(.post, Self.path, streamsBody: true, upload)]
    }

    func upload(_ request: Request, _ context: CallerContext) async throws -> Response {
        let caller = context.caller
        try Self.mayUpload(caller)
        let options = try BulkOptions(request)
        guard let format = BulkFormat(contentType: request.headers[.contentType] ?? "") else {
            throw Problem(status: 415, title: "Unsupported Media Type", detail: "send text/csv or application/x-ndjson")
        }
        let organization = try await Self.uploader(caller, store: env.store)

        var batch = BulkBatch(
            plan: BulkPlan(organizationSlug: organization.slug, today: .today(), options: options), format: format,
            settings: env.settings, projects: ProjectLookup(store: env.store, caller: caller))
        var bytes = 0
        for try await chunk in request.body {
            bytes += chunk.readableBytes
            guard bytes <= env.settings.bulkMaxBytes else { throw Problem.tooLarge(limit: env.settings.bulkMaxBytes) }
            try await batch.feed(chunk)
        }
        try await batch.finish()

        let (response, kept) = try await batch.settle(in: env.store, as: caller) { report, tx, keep in
            let response = try jsonResponse(report)
            return keep ? try await IdempotentAnswer.record(response, in: tx) : response
        }
        if kept { IdempotentAnswer.pending?.commit() }
        return response
    }

    /// Member admins and editors upload (403 otherwise); asked before anything else.
    static func mayUpload(_ caller: Caller) throws {
        try check(Policy.reportProgress(caller), "the organization")
    }

    /// Who may upload for their organization (403 otherwise), before a byte of the file is read:
    /// a member admin or editor of a member organization. Returns the organization.
    static func uploader(_ caller: Caller, store: Store) async throws -> Organization {
        try mayUpload(caller)
        guard let organization = try await store.transaction(as: caller, { try await $0.organization(id: caller.organizationID) }),
            organization.kind == .member
        else { throw Problems.forbidden("only member organizations report progress") }
        return organization
    }
}

/// One upload as it streams in: records cut by the splitter, read into rows, judged by the
/// plan, the valid ones staged for COPY.
struct BulkBatch {
    var plan: BulkPlan
    private(set) var staging = BulkStaging()
    private var splitter: BulkRecordSplitter
    private var reader: BulkRowReader
    private let maxRows: Int
    private var projects: ProjectLookup
    private var records: [BulkRecord] = []
    private var rows = 0

    init(plan: BulkPlan, format: BulkFormat, settings: ServerSettings, projects: ProjectLookup) {
        self.plan = plan
        self.splitter = BulkRecordSplitter(format: format)
        self.reader = BulkRowReader(format: format)
        self.maxRows = settings.bulkMaxRows
        self.projects = projects
    }

    mutating func feed(_ chunk: ByteBuffer) async throws {
        var completed: [BulkRecord] = []
        chunk.withUnsafeReadableBytes { splitter.feed($0) { completed.append($0) } }
        for record in completed { try await take(record) }
    }

    /// Stores what the plan kept, in one transaction, and answers with its report: `answer`
    /// runs inside the transaction with the report and whether it commits (a dry run, or an
    /// atomic batch with a rejected row, rolls back). Returns the answer and that flag.
    func settle<Answer>(
        in store: Store, as caller: Caller, _ answer: (BulkReport, StoreTransaction, Bool) async throws -> Answer
    ) async throws -> (Answer, Bool) {
        let (plan, staging) = (plan, staging)
        return try await store.settledTransaction(as: caller) { tx -> Settlement<(Answer, Bool)> in
            let stored = plan.storesAnything ? try await tx.storeBulk(staging, caller: caller) : nil
            let (report, keep) = plan.settle(stored)
            let answered = try await answer(report, tx, keep)
            return keep ? .commit((answered, true)) : .rollback((answered, false))
        }
    }

    mutating func finish() async throws {
        var completed: [BulkRecord] = []
        splitter.finish { completed.append($0) }
        for record in completed { try await take(record) }
        if reader.expectsHeader {
            throw Problem(status: 400, title: "Bad Request", detail: "the file cannot be read: line 1: the file is empty; a header row is required")
        }
    }

    private mutating func take(_ record: BulkRecord) async throws {
        let entry: BulkEntry
        do {
            entry = try reader.read(record)
        } catch {
            // The header, or a body that is not text: the whole file is refused.
            if let field = error.field { throw Problems.invalid([.init(field: field, message: error.description)]) }
            throw Problem(status: 400, title: "Bad Request", detail: "the file cannot be read: \(error.description)")
        }
        if case .header = entry { return }
        rows += 1
        guard rows <= maxRows else {
            throw Problem(status: 413, title: "Content Too Large",
                          detail: "the file holds more than \(maxRows) rows; one request takes at most \(maxRows) (split it into batches)")
        }
        switch entry {
        case .header: return
        case .unreadable(let line, let problem): plan.reject(line: line, problem)
        case .row(let row):
            let project: BulkProject?
            switch try await projects.project(code: row.fields["project"]) {
            case .found(let p): project = p
            case .tooMany:
                plan.reject(line: row.line, field: "project", "one file may name at most \(BulkLimits.projects) different projects")
                return
            }
            if let candidate = plan.judge(row, project: project) { staging.append(candidate) }
        }
    }
}

/// The projects a batch names, looked up once per code in short transactions of their own (no
/// connection is held while the body streams in), at most `BulkLimits.projects` codes.
struct ProjectLookup {
    let store: Store
    let caller: Caller
    private var known: [String: BulkProject?] = [:]

    init(store: Store, caller: Caller) {
        self.store = store
        self.caller = caller
    }

    enum Answer { case found(BulkProject?), tooMany }

    mutating func project(code: String?) async throws -> Answer {
        guard let code else { return .found(nil) }
        if let project = known[code] { return .found(project) }
        guard known.count < BulkLimits.projects else { return .tooMany }
        let found = try await store.transaction(as: caller) { try await $0.bulkProjects(codes: [code]) }[code]
        known[code] = found
        return .found(found)
    }
}
