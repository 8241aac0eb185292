import CoalitionDomain
import Foundation
import PQ
import Testing

@testable import CoalitionAPI
@testable import CoalitionStore

@Suite("OpenAPI document")
struct OpenAPITests {
    /// Paths and methods as the document lists them (`paths:` keys at two spaces, methods at four).
    static func documented() -> Set<String> {
        var result: Set<String> = []
        var inPaths = false
        var path: String?
        for line in OpenAPIDocument.yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()); continue }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("    "), !line.hasPrefix("     "), let path,
                ["get:", "post:", "put:", "patch:", "delete:"].contains(trimmed)
            {
                result.insert("\(trimmed.dropLast().uppercased()) \(path)")
            }
        }
        return result
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() throws {
        let pool = ConnectionPool(PoolConfiguration(conninfo: "host=/nonexistent", maximumConnections: 1))
        let env = APIEnvironment(store: Store(pool: pool), passwords: PasswordHasher(cost: 4), settings: ServerSettings(), migrator: Migrator(migrations: []))
        let routes = Set(CoalitionApplication.routeTable(env: env).entries.map { "\($0.method) \($0.path)" })
        let documented = Self.documented()
        #expect(routes.count > 10)
        #expect(routes.subtracting(documented).isEmpty, "routes missing from openapi.yaml: \(routes.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented but not served: \(documented.subtracting(routes).sorted())")
        #expect(OpenAPIDocument.yaml.hasPrefix("openapi: 3.1.0"))
    }

    @Test func theServerServesTheDocument() async throws {
        let db = try await TestDatabase.migrated()
        let server = try await ServerProcess.start(database: db)
        let r = try await http(.GET, server.baseURL + "/openapi.yaml")
        #expect(r.status == 200)
        #expect(r.text.hasPrefix("openapi: 3.1.0"))
        #expect(try await server.stop() == 0)
        // The document is valid OpenAPI 3.1 (openapi-spec-validator, installed by scripts/test).
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).yaml")
        try r.body.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let validator = Process()
        validator.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        validator.arguments = ["python3", "-c", "import sys, yaml; from openapi_spec_validator import validate; validate(yaml.safe_load(open(sys.argv[1]))); print('valid')", file.path]
        let out = Pipe()
        validator.standardOutput = out
        validator.standardError = out
        try validator.run()
        validator.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(validator.terminationStatus == 0, "\(text)")
    }
}
