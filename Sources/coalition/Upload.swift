import ArgumentParser
import CMalloc
import CoalitionClient
import CoalitionDomain
import CoalitionModels
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension BulkFormat: ExpressibleByArgument {
    /// The format a file's name says: .csv, or .ndjson / .jsonl.
    static func fromExtension(_ path: String) -> BulkFormat? {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "csv": .csv
        case "ndjson", "jsonl": .ndjson
        default: nil
        }
    }
}

/// Reads a bulk file record by record in constant memory: 1 MiB reads cut into records by the
/// domain's `BulkRecordSplitter`, the code the server cuts request bodies with, so that both
/// agree on where a record starts and which line it is.
final class RecordReader {
    let handle: FileHandle
    private var splitter: BulkRecordSplitter
    private var pending: [BulkRecord] = []
    private var next = 0
    private var atEnd = false

    init(path: String, format: BulkFormat) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ConfigError(message: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        self.handle = handle
        self.splitter = BulkRecordSplitter(format: format)
    }

    deinit { try? handle.close() }

    /// The next non-blank record, or nil at the end of the file.
    func read() throws -> BulkRecord? {
        while next == pending.count {
            if atEnd { return nil }
            var records: [BulkRecord] = []
            let data = try handle.read(upToCount: 1 << 20) ?? Data()
            if data.isEmpty {
                atEnd = true
                splitter.finish { records.append($0) }
            } else {
                data.withUnsafeBytes { splitter.feed($0) { records.append($0) } }
            }
            pending = records
            next = 0
        }
        defer { next += 1 }
        return pending[next]
    }
}

/// One request's worth of records. It holds the request body and, per record, only its file
/// line and where its bytes lie in the body: the records themselves are freed as soon as the
/// body is built, so a batch in flight costs its body and two small arrays.
struct UploadBatch: Sendable {
    var index: Int
    var body: [UInt8]
    /// The file line each record starts on.
    var fileLines: [Int]
    /// Where each record's bytes lie in `body` (without its line end).
    var ranges: [Range<Int>]
    /// The line in `body` each record starts on → its index.
    var lines: [Int: Int]

    var count: Int { fileLines.count }
}

struct BatchOutcome: Sendable {
    var batch: UploadBatch
    var report: BulkReport
}

/// Progress on standard error: one updating line on a terminal, a plain line per batch otherwise.
final class UploadProgress {
    let total: Int
    let terminal: Bool
    let start = ContinuousClock.now
    var done = 0

    init(total: Int) {
        self.total = total
        self.terminal = isatty(STDERR_FILENO) == 1
    }

    func advance(_ outcome: BatchOutcome) {
        done += outcome.batch.count
        let seconds = max(Double((ContinuousClock.now - start).components.attoseconds) / 1e18 + Double((ContinuousClock.now - start).components.seconds), 0.001)
        let rate = Double(done) / seconds
        let eta = rate > 0 ? Int((Double(total - done) / rate).rounded(.up)) : 0
        let r = outcome.report
        if terminal {
            let line = "rows \(done)/\(total), \(Int(rate)) rows/s, ETA \(eta)s"
            FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
        } else {
            let line = "batch \(outcome.batch.index + 1): rows \(done)/\(total) (accepted \(r.accepted), unchanged \(r.unchanged), rejected \(r.rejected)), \(Int(rate)) rows/s\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    func finish() {
        if terminal && done > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

extension Submissions {
    /// `submissions upload FILE`: a bulk file sent in batches (SPEC §4, §5).
    struct Upload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a CSV or NDJSON file of submissions in batches.",
            discussion: "Exit status: 0 when every row was stored or unchanged, 1 when some rows were rejected, 2 for usage, authentication or connection errors.")
        @OptionGroup var server: ServerOption
        @OptionGroup var format: OutputOption
        @Argument(help: "The file: .csv, .ndjson or .jsonl.") var file: String
        @Option(name: .customLong("format"), help: "File format: csv or ndjson (default: from the file name).") var fileFormat: BulkFormat?
        @Flag(help: "Validate only; store nothing.") var dryRun = false
        @Flag(help: "Store nothing unless every row is valid (the file must fit one batch).") var atomic = false
        @Option(help: "Rows per request (1–50000).") var batchSize = 5000
        @Option(help: "Requests in flight (1–16).") var parallel = 2
        @Option(help: "Write the rejected rows here as CSV, with line, field and message columns.") var errorsOut: String?

        func validate() throws {
            guard (1...50_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 50000") }
            guard (1...16).contains(parallel) else { throw ValidationError("--parallel must be between 1 and 16") }
            guard fileFormat != nil || BulkFormat.fromExtension(file) != nil else {
                throw ValidationError("cannot tell the format of \(file) from its name; pass --format csv or --format ndjson")
            }
        }

        func run() async throws {
            Self.boundMalloc()
            let format = fileFormat ?? BulkFormat.fromExtension(file)!
            // First pass: count the rows (for progress, and for --atomic).
            var total = 0
            var header: BulkRecord?
            var firstOversized: Int?
            do {
                let reader = try RecordReader(path: file, format: format)
                while let record = try reader.read() {
                    if format == .csv && header == nil { header = record } else { total += 1 }
                    if record.oversized, firstOversized == nil { firstOversized = record.line }
                }
            } catch {
                throw fail("\(error)")
            }
            if format == .csv && header == nil { throw fail("\(file) is empty; a CSV file needs a header row") }
            if let header, header.oversized { throw fail("line 1: the header is longer than \(BulkLimits.recordBytes) bytes") }
            if atomic && total > batchSize {
                throw fail("--atomic: \(file) holds \(total) rows, more than one batch of \(batchSize); raise --batch-size or upload without --atomic")
            }
            if atomic, let firstOversized {
                throw fail("--atomic: line \(firstOversized) is longer than \(BulkLimits.recordBytes) bytes, so nothing was stored", status: Exit.refused)
            }

            var errorsFile: FileHandle?
            if let errorsOut {
                guard FileManager.default.createFile(atPath: errorsOut, contents: nil), let handle = FileHandle(forWritingAtPath: errorsOut) else {
                    throw fail("cannot write \(errorsOut)")
                }
                errorsFile = handle
                var first: [UInt8]
                if let header { first = header.bytes } else { first = Array(BulkColumns.ordered.joined(separator: ",").utf8) }
                first += Array(",line,field,message\n".utf8)
                handle.write(Data(first))
            }
            defer { try? errorsFile?.close() }

            let client: APIClient
            do {
                client = try APIClient(baseURL: server.resolvedURL, token: server.resolvedToken, pageSize: server.pageSize, timeout: .seconds(300))
            } catch {
                throw fail(error.description)
            }
            let progress = UploadProgress(total: total)
            var combined = BulkReport(accepted: 0, unchanged: 0, rejected: 0, errors: [], stored: !dryRun)
            func absorb(_ outcome: BatchOutcome) {
                combined.accepted += outcome.report.accepted
                combined.unchanged += outcome.report.unchanged
                combined.rejected += outcome.report.rejected
                combined.stored = combined.stored && outcome.report.stored
                combined.errors += outcome.report.errors
                combined.errorsOmitted += outcome.report.errorsOmitted
                if let errorsFile { Self.writeRejected(outcome, format: format, to: errorsFile) }
                progress.advance(outcome)
                Self.returnFreedMemory()
            }
            let (dryRun, atomic, contentType, parallel) = (self.dryRun, self.atomic, format.contentType, self.parallel)
            do {
                let reader = try RecordReader(path: file, format: format)
                if format == .csv { _ = try reader.read() }
                try await withThrowingTaskGroup(of: BatchOutcome.self) { group in
                    var inFlight = 0
                    var index = 0
                    while true {
                        var records: [BulkRecord] = []
                        while records.count < batchSize, let record = try reader.read() {
                            // A row longer than any server reads is rejected here; its bytes
                            // were never held.
                            guard !record.oversized else {
                                let problem = BulkRecordProblem.tooLong(limit: BulkLimits.recordBytes).description
                                combined.rejected += 1
                                combined.errors.append(.init(line: record.line, field: "_row", message: problem))
                                if let errorsFile { Self.writeUnreadable(record, problem, columns: header, to: errorsFile) }
                                continue
                            }
                            records.append(record)
                        }
                        if records.isEmpty { break }
                        let batch = Self.makeBatch(index: index, header: header, records: records)
                        records = []  // the body holds the bytes now; free them before waiting
                        index += 1
                        if inFlight >= parallel, let outcome = try await group.next() {
                            inFlight -= 1
                            absorb(outcome)
                        }
                        group.addTask {
                            let report = try await Self.send(batch, client: client, contentType: contentType, dryRun: dryRun, atomic: atomic)
                            return BatchOutcome(batch: batch, report: report)
                        }
                        inFlight += 1
                    }
                    while let outcome = try await group.next() { absorb(outcome) }
                }
            } catch let error as ClientError {
                progress.finish()
                await client.shutdown()
                throw fail(error.description, status: ExitCode(error.exitStatus))
            } catch {
                progress.finish()
                await client.shutdown()
                throw fail("\(error)")
            }
            progress.finish()
            await client.shutdown()
            combined.errors.sort { ($0.line, $0.field) < ($1.line, $1.field) }
            switch self.format.output {
            case .json: try Output.printJSON(combined)
            case .csv:
                Output.write(Output.csv(header: ["accepted", "unchanged", "rejected", "stored"],
                                        rows: [[String(combined.accepted), String(combined.unchanged), String(combined.rejected), String(combined.stored)]]))
            case .table:
                var text = "accepted \(combined.accepted), unchanged \(combined.unchanged), rejected \(combined.rejected)"
                if !combined.stored { text += dryRun ? " (dry run: nothing stored)" : " (nothing stored)" }
                Output.write(text + "\n")
                for e in combined.errors.prefix(20) { Output.write("line \(e.line): \(e.field) \(e.message)\n") }
                if combined.errors.count > 20 {
                    Output.write("… and \(combined.errors.count - 20) more errors\(errorsOut == nil ? " (use --errors-out FILE)" : "")\n")
                }
                if combined.errorsOmitted > 0 {
                    Output.write("(\(combined.errorsOmitted) more errors were not reported: the server reports at most \(BulkLimits.reportedErrors) a request; use a smaller --batch-size)\n")
                }
            }
            if combined.rejected > 0 { throw Exit.refused }
        }

        /// A large file passes through as short-lived buffers (1 MiB reads, batch bodies, the
        /// records of a read) allocated on several threads. Left alone, glibc raises its mmap
        /// threshold after the first large buffer is freed and keeps freed memory in its heaps,
        /// so the process grew with the file (54 MB at 100,000 rows, 106 MB at 1,000,000).
        /// Fixed thresholds map and unmap buffers over 128 KiB and give free heap tops back.
        static func boundMalloc() {
            #if canImport(Glibc)
            _ = mallopt(M_MMAP_THRESHOLD, 128 * 1024)
            _ = mallopt(M_TRIM_THRESHOLD, 128 * 1024)
            #endif
        }

        /// After each batch: gives every wholly free page inside glibc's heaps back (the freed
        /// records and buffers of the batch), which trimming the heap tops alone does not.
        static func returnFreedMemory() {
            #if canImport(Glibc)
            _ = malloc_trim(0)
            #endif
        }

        /// The request body (CSV: the header again, then the records) and where each record
        /// starts in it, for translating the server's line numbers back to the file's.
        static func makeBatch(index: Int, header: BulkRecord?, records: [BulkRecord]) -> UploadBatch {
            var body: [UInt8] = []
            var line = 1
            if let header {
                body += header.bytes
                body.append(UInt8(ascii: "\n"))
                line += header.lineCount
            }
            var lines: [Int: Int] = [:]
            var fileLines: [Int] = []
            var ranges: [Range<Int>] = []
            fileLines.reserveCapacity(records.count)
            ranges.reserveCapacity(records.count)
            for (i, record) in records.enumerated() {
                lines[line] = i
                fileLines.append(record.line)
                ranges.append(body.count..<body.count + record.bytes.count)
                body += record.bytes
                body.append(UInt8(ascii: "\n"))
                line += record.lineCount
            }
            return UploadBatch(index: index, body: body, fileLines: fileLines, ranges: ranges, lines: lines)
        }

        /// Sends one batch, retrying connection errors and 5xx answers with exponential backoff
        /// (0.5 s, 1 s, 2 s, 4 s; five tries). Re-sending is safe: stored rows come back unchanged.
        /// The report's lines are the file's.
        static func send(_ batch: UploadBatch, client: APIClient, contentType: String, dryRun: Bool, atomic: Bool) async throws -> BulkReport {
            var attempt = 0
            while true {
                do {
                    var report = try await client.uploadBulk(batch.body, contentType: contentType, dryRun: dryRun, atomic: atomic)
                    report.errors = report.errors.map { e in
                        var e = e
                        if let i = batch.lines[e.line] { e.line = batch.fileLines[i] }
                        return e
                    }
                    return report
                } catch .problem(var problem) where problem.status == 400 {
                    // "the file cannot be read: line N: …" names a line of the batch: name the file's.
                    if let detail = problem.detail, let range = detail.range(of: #"line [0-9]+"#, options: .regularExpression),
                       let n = Int(detail[range].dropFirst(5)) {
                        problem.detail = detail.replacingCharacters(in: range, with: "line \(fileLine(n, in: batch))")
                    }
                    throw ClientError.problem(problem)
                } catch {
                    let retryable: Bool = switch error {
                    case .connection: true
                    default: (error.httpStatus ?? 0) >= 500
                    }
                    attempt += 1
                    guard retryable, attempt < 5 else { throw error }
                    try await Task.sleep(for: .milliseconds(500 << (attempt - 1)))
                }
            }
        }

        /// The file line of line `n` of a batch's body (a record may span several lines).
        static func fileLine(_ n: Int, in batch: UploadBatch) -> Int {
            var best: (batchLine: Int, index: Int)?
            for (line, index) in batch.lines where line <= n && line > (best?.batchLine ?? 0) { best = (line, index) }
            guard let best else { return n }
            return batch.fileLines[best.index] + (n - best.batchLine)
        }

        /// Appends a row that was not sent (too long to read) to the errors file: empty columns,
        /// then its line, field and message.
        static func writeUnreadable(_ record: BulkRecord, _ problem: String, columns header: BulkRecord?, to handle: FileHandle) {
            let count = header.flatMap { try? CSVRecord.fields($0.bytes).get().count } ?? BulkColumns.ordered.count
            handle.write(Data((String(repeating: ",", count: max(0, count - 1)) + "," + CSVText.line([String(record.line), "_row", problem]) + "\n").utf8))
        }

        /// Appends the batch's rejected rows to the errors file: the original columns, then
        /// `line,field,message` (several errors of one row joined with "; ").
        static func writeRejected(_ outcome: BatchOutcome, format: BulkFormat, to handle: FileHandle) {
            var byLine: [Int: [BulkReport.RowError]] = [:]
            for e in outcome.report.errors { byLine[e.line, default: []].append(e) }
            var out: [UInt8] = []
            let batch = outcome.batch
            for (fileLine, range) in zip(batch.fileLines, batch.ranges) {
                guard let errors = byLine[fileLine] else { continue }
                let bytes = batch.body[range]
                switch format {
                case .csv: out += bytes
                case .ndjson:
                    let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
                    let cells = BulkColumns.ordered.map { key -> String in
                        switch object[key] {
                        case let s as String: s
                        case let n as NSNumber: n.stringValue
                        default: ""
                        }
                    }
                    out += Array(CSVText.line(cells).utf8)
                }
                let extra = [String(fileLine), errors.map(\.field).joined(separator: "; "), errors.map(\.message).joined(separator: "; ")]
                out += Array(("," + CSVText.line(extra) + "\n").utf8)
            }
            if !out.isEmpty { handle.write(Data(out)) }
        }
    }
}
