import CoalitionDomain
import Foundation
import PQ
import Testing

@testable import CoalitionAPI
@testable import CoalitionStore

@Suite("OpenAPI document")
struct OpenAPITests {
    /// The document as JSON (PyYAML converts it; scripts/test installs it).
    static func document() throws -> [String: Any] {
        let converter = Process()
        converter.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        converter.arguments = ["python3", "-c", "import sys, yaml, json; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"]
        let input = Pipe(), output = Pipe()
        converter.standardInput = input
        converter.standardOutput = output
        try converter.run()
        input.fileHandleForWriting.write(Data(OpenAPIDocument.yaml.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        converter.waitUntilExit()
        #expect(converter.terminationStatus == 0)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Every operation of the document ("METHOD /path") with the audience its `security` says.
    static func documented() throws -> [String: Audience] {
        let document = try document()
        let global = document["security"] as? [[String: [String]]] ?? []
        var result: [String: Audience] = [:]
        for (path, item) in document["paths"] as? [String: [String: Any]] ?? [:] {
            for (method, operation) in item where ["get", "post", "put", "patch", "delete"].contains(method) {
                let security = (operation as? [String: Any])?["security"] as? [[String: [String]]] ?? global
                let audience: Audience =
                    if security.isEmpty || security.contains(where: \.isEmpty) { .anyone }
                    else if security.contains(where: { $0["bearer"] == ["write"] }) { .writer }
                    else { .caller }
                result["\(method.uppercased()) \(path)"] = audience
            }
        }
        return result
    }

    @Test func everyRouteIsDocumentedWithWhoMayCallIt() throws {
        let pool = ConnectionPool(PoolConfiguration(conninfo: "host=/nonexistent", maximumConnections: 1))
        let env = APIEnvironment(store: Store(pool: pool), passwords: PasswordHasher(cost: 4), settings: ServerSettings(), migrator: Migrator(migrations: []))
        let entries = CoalitionApplication.routeTable(env: env).entries
        let routes = Dictionary(uniqueKeysWithValues: entries.map { ("\($0.method) \($0.path)", $0.audience) })
        let documented = try Self.documented()
        #expect(routes.count > 10)
        let missing = Set(routes.keys).subtracting(documented.keys)
        let extra = Set(documented.keys).subtracting(routes.keys)
        #expect(missing.isEmpty, "routes missing from openapi.yaml: \(missing.sorted())")
        #expect(extra.isEmpty, "documented but not served: \(extra.sorted())")
        let disagreeing = routes.filter { route in documented[route.key].map { $0 != route.value } ?? false }
        #expect(disagreeing.isEmpty, "security differs from the route's audience: \(disagreeing.map { "\($0.key) is \($0.value)" }.sorted())")
        // Mutations are for writers, reads for callers or anyone: the table itself is consistent.
        // The PACT API's routes authenticate PACT clients themselves (Basic, PACT tokens).
        #expect(entries.filter { $0.method != "GET" && $0.path != "/v1/auth/login" && !PACTRoutes.owns($0.path[...]) }.allSatisfy { $0.audience == .writer })
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
