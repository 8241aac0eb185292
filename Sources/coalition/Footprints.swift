import ArgumentParser
import CoalitionClient
import CoalitionModels
import Crypto
import Foundation

/// `footprints upload FILE.ndjson`: many product footprints (PACT v3 drafts) at once.
struct Footprints: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Product carbon footprints (PACT v3).", subcommands: [Upload.self])

    /// The server takes at most this much in one upload (`POST /v1/footprints/bulk`).
    static let maxFileBytes = 16 << 20

    struct Upload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload an NDJSON file of footprint drafts of your organization, one PACT v3 ProductFootprint a line.",
            discussion: """
                Each line is a ProductFootprint without id, specVersion, created and status. All or nothing: \
                when any line is refused, none is stored and each refusal is printed with its line. \
                Exit status: 0 when every footprint was stored, 1 when the file was refused, 2 for usage, \
                authentication or connection errors.
                """)
        @OptionGroup var server: ServerOption
        @OptionGroup var format: OutputOption
        @Argument(help: "The file: NDJSON, at most 16 MiB and 5,000 footprints.") var file: String
        @Flag(help: "Publish the footprints once stored (those they name in precedingPfIds become Deprecated).") var publish = false

        func run() async throws {
            let size: Int
            do {
                size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? 0
            } catch {
                throw fail("cannot read \(file)")
            }
            guard size <= Footprints.maxFileBytes else { throw fail("\(file) is larger than 16 MiB; split it into several uploads") }
            guard let data = FileManager.default.contents(atPath: file) else { throw fail("cannot read \(file)") }
            let publish = self.publish
            // The same file sent again (an answer lost, a second run) is answered from the first
            // upload for 24 hours instead of being stored twice.
            let key = "footprints-" + SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() + (publish ? "-published" : "")
            let result = try await withClient(server) { (c: APIClient) async throws(ClientError) in
                try await c.uploadFootprints(Array(data), publish: publish, idempotencyKey: key)
            }
            switch format.output {
            case .table:
                print("stored \(result.created) footprint(s)\(result.published ? ", published" : " as drafts")")
            case .json, .csv:
                try Output.emit([result], [Column("created") { $0.created }, Column("published") { $0.published }], format: format.output)
            }
        }
    }
}
