import CoalitionDomain
import Foundation

@testable import CoalitionAPI
import NIOHTTP1
import PQ
import Testing

/// A member's draft footprint (a PACT v3 ProductFootprint without the server's fields).
func footprintDraft(product: String = "urn:gtin:4006381333931", country: String = "DE", preceding: [String]? = nil) -> [String: any Sendable] {
    var doc: [String: any Sendable] = [
        "companyName": "Member A Home Care",
        "companyIds": ["urn:pact:member-a.example:company:1"],
        "productDescription": "Concentrated liquid laundry detergent, 1 l.",
        "productIds": [product],
        "productClassifications": ["urn:pact:unstats.un.org:un-cpc:35321"],
        "productNameCompany": "Clean Liquid 1 L",
        "validityPeriodStart": "2025-02-01T01:00:00+01:00",
        "pcf": [
            "declaredUnitOfMeasurement": "liter", "declaredUnitAmount": "1", "productMassPerDeclaredUnit": "1.05",
            "referencePeriodStart": "2024-01-01T00:00:00Z", "referencePeriodEnd": "2025-01-01T00:00:00Z",
            "geographyCountry": country, "pcfExcludingBiogenicUptake": "1.42", "pcfIncludingBiogenicUptake": "1.38",
            "fossilGhgEmissions": "1.31", "fossilCarbonContent": "0.21", "ipccCharacterizationFactors": ["AR6"],
            "crossSectoralStandards": ["ISO14067"], "exemptedEmissionsPercent": "0.8",
        ] as [String: any Sendable],
    ]
    if let preceding { doc["precedingPfIds"] = preceding }
    return doc
}

/// A count over every row (as the superuser: product_footprints binds even its owner to RLS).
func ownerCount(_ f: CoalitionFixture, _ sql: String) async throws -> Int {
    try await withSuperuserConnection(database: f.db.name) { conn in
        try await conn.query(SQL(stringLiteral: sql))[0].decode(0, as: Int.self)
    }
}

@Suite("Product footprints and PACT clients")
struct FootprintTests {
    static let secretsKey = Data((0..<32).map { UInt8($0) }).base64EncodedString()

    @Test func membersDraftPublishAndVersionFootprintsSeenOnlyWhenPublished() async throws {
        let f = try await CoalitionFixture.start()
        defer { Task { try? await f.stop() } }
        // Who may draft: member admins and editors, not viewers or coalition admins.
        #expect(try await f.call(.POST, "/v1/footprints", as: "member_viewer", json: ["footprint": footprintDraft()]).status == 403)
        #expect(try await f.call(.POST, "/v1/footprints", as: "coalition_admin", json: ["footprint": footprintDraft()]).status == 403)
        let created = try await f.call(.POST, "/v1/footprints", as: "member_editor", json: ["footprint": footprintDraft()])
        #expect(created.status == 201, "\(created.text)")
        let v1 = try #require(created.json?["id"] as? String)
        let doc = try #require(created.json?["footprint"] as? [String: any Sendable])
        #expect(created.json?["state"] as? String == "draft")
        #expect(doc["id"] as? String == v1 && doc["specVersion"] as? String == "3.0.0" && doc["status"] as? String == "Active")
        #expect(doc["validityPeriodStart"] as? String == "2025-02-01T00:00:00Z", "timestamps are kept in UTC with Z")
        #expect((doc["created"] as? String)?.hasSuffix("Z") == true)
        // A draft stays in its organization.
        #expect(try await CoalitionFixture.call(f.server, .GET, "/v1/footprints/\(v1)", token: f.tokens["memberB_admin"]).status == 404)
        #expect(try await f.call(.GET, "/v1/footprints/\(v1)", as: "member_viewer").status == 200)
        // Publishing: the organization's editors, once.
        #expect(try await f.call(.POST, "/v1/footprints/\(v1)/publish", as: "member_viewer").status == 403)
        let published = try await f.call(.POST, "/v1/footprints/\(v1)/publish", as: "member_editor")
        #expect(published.json?["state"] as? String == "published", "\(published.text)")
        #expect(try await f.call(.POST, "/v1/footprints/\(v1)/publish", as: "member_editor").status == 409)
        #expect(try await CoalitionFixture.call(f.server, .GET, "/v1/footprints/\(v1)", token: f.tokens["memberB_admin"]).status == 200)
        // A new version names the old one; publishing it deprecates the old one.
        let v2 = try #require(try await f.call(.POST, "/v1/footprints", as: "member_editor",
                                               json: ["footprint": footprintDraft(preceding: [v1])]).json?["id"] as? String)
        #expect(try await f.call(.POST, "/v1/footprints/\(v2)/publish", as: "member_editor").status == 200)
        let old = try await f.call(.GET, "/v1/footprints/\(v1)", as: "member_viewer")
        #expect((old.json?["footprint"] as? [String: any Sendable])?["status"] as? String == "Deprecated")
        // A version may only supersede its own organization's active published footprints:
        // refused whole (the draft stays a draft, v2 is not deprecated by the half that matched).
        let stranger = try await f.call(.POST, "/v1/footprints", as: "member_editor",
                                        json: ["footprint": footprintDraft(preceding: [v2, UUID().uuidString.lowercased()])])
        let strangerID = try #require(stranger.json?["id"] as? String)
        let refused = try await f.call(.POST, "/v1/footprints/\(strangerID)/publish", as: "member_editor")
        #expect(refused.status == 422 && refused.text.contains("footprint.precedingPfIds"), "\(refused.text)")
        #expect(try await f.call(.GET, "/v1/footprints/\(strangerID)", as: "member_editor").json?["state"] as? String == "draft")
        let stillActive = try await f.call(.GET, "/v1/footprints/\(v2)", as: "member_editor")
        #expect((stillActive.json?["footprint"] as? [String: any Sendable])?["status"] as? String == "Active")
        // A deprecated footprint is superseded once: a second successor of v1 is refused.
        let fork = try #require(try await f.call(.POST, "/v1/footprints", as: "member_editor",
                                                 json: ["footprint": footprintDraft(preceding: [v1])]).json?["id"] as? String)
        #expect(try await f.call(.POST, "/v1/footprints/\(fork)/publish", as: "member_editor").status == 422)
        // In the database too: a footprint's document never changes, a published one stays so,
        // even for the owner acting as one of the organization's editors (or the superuser).
        for change in ["document = '{}'", "state = 'draft', published_at = NULL", "status = 'Active'"] {
            await #expect(throws: PQError.self, "\(change)") {
                try await withOwnerConnection(database: f.db.name) { conn in
                    try await conn.query(SQL(stringLiteral: """
                        SELECT set_config('coalition.role', 'member_editor', false), set_config('coalition.organization_id', '\(f.memberA)', false)
                        """))
                    let updated = try await conn.query(SQL(stringLiteral: "UPDATE product_footprints SET \(change) WHERE id = '\(v1)'"))
                    Issue.record("\(change) updated \(updated.affectedRows) rows")
                }
            }
        }
        #expect(try await ownerCount(f, "SELECT count(*)::int FROM product_footprints WHERE id = '\(v1)' AND status = 'Deprecated' AND state = 'published'") == 1)
        // Lists: the caller's drafts and every published footprint; others' drafts never.
        let listB = try await CoalitionFixture.call(f.server, .GET, "/v1/footprints", token: f.tokens["memberB_admin"])
        #expect(((listB.json?["items"] as? [[String: any Sendable]]) ?? []).compactMap { $0["id"] as? String }.sorted() == [v1, v2].sorted())
        #expect(try await ownerCount(f, "SELECT count(*)::int FROM audit_log WHERE entity = 'footprint'") == 4 + 2 + 1)
        // The organization's report lists its published footprints, the deprecated one marked.
        let report = try await f.call(.GET, "/v1/reports/organizations/\(f.memberA)", as: "auditor")
        let listed = (report.json?["footprints"] as? [[String: any Sendable]]) ?? []
        #expect(listed.compactMap { $0["status"] as? String } == ["Deprecated", "Active"], "\(report.text)")
        #expect(listed.first?["pcf_excluding_biogenic_uptake"] as? String == "1.42" && listed.first?["declared_unit"] as? String == "liter")
    }

    @Test func badFootprintsAreRefusedNamingTheFieldAndStoreNothing() async throws {
        let f = try await CoalitionFixture.start()
        defer { Task { try? await f.stop() } }
        func refused(_ body: [String: any Sendable], _ field: String) async throws {
            let r = try await f.call(.POST, "/v1/footprints", as: "member_editor", json: body)
            let fields = ((r.json?["errors"] as? [[String: any Sendable]]) ?? []).compactMap { $0["field"] as? String }
            #expect(r.status == 422 && fields.contains(field), "\(field): \(r.status) \(r.text)")
        }
        var noPCF = footprintDraft()
        noPCF["pcf"] = nil
        try await refused(["footprint": noPCF], "footprint.pcf")
        var withID = footprintDraft()
        withID["id"] = UUID().uuidString
        try await refused(["footprint": withID], "footprint.id")
        var numeric = footprintDraft()
        var pcf = numeric["pcf"] as! [String: any Sendable]
        pcf["pcfExcludingBiogenicUptake"] = 1.42
        numeric["pcf"] = pcf
        try await refused(["footprint": numeric], "footprint.pcf.pcfExcludingBiogenicUptake")
        try await refused(["footprint": footprintDraft(product: "gtin 123")], "footprint.productIds[0]")
        try await refused(["footprint": footprintDraft(), "standard_id": UUID().uuidString], "standard_id")
        var nul = footprintDraft()
        nul["comment"] = "a\u{0}b"
        try await refused(["footprint": nul], "footprint")
        try await refused([:], "footprint")
        let notJSON = try await CoalitionFixture.call(f.server, .POST, "/v1/footprints", token: f.tokens["member_editor"], raw: Data("{".utf8),
                                                      headers: [("Content-Type", "application/json")])
        #expect(notJSON.status == 400)
        let huge = try await f.call(.POST, "/v1/footprints", as: "member_editor",
                                    json: ["footprint": footprintDraft(), "padding": String(repeating: "x", count: 1 << 21)])
        #expect(huge.status == 413)
        #expect(try await ownerCount(f, "SELECT count(*)::int FROM product_footprints") == 0)
    }

    @Test func pactClientsAreRegisteredByAdminsWithTheirSecretsNeverStoredInClear() async throws {
        let f = try await CoalitionFixture.start(environment: ["COALITION_SECRETS_KEY": Self.secretsKey])
        defer { Task { try? await f.stop() } }
        let admin = try await f.call(.POST, "/v1/pact-clients", as: "coalition_admin", json: [
            "name": "Retailer", "callback_client_id": "coalition-at-retailer", "callback_client_secret": "callback-secret-0123456789",
        ])
        #expect(admin.status == 201, "\(admin.text)")
        let secret = try #require(admin.json?["client_secret"] as? String)
        #expect(admin.json?["scopes"] as? [String] == ["footprint:list", "footprint:read"])
        // A member admin registers clients of its own organization only.
        let own = try await f.call(.POST, "/v1/pact-clients", as: "member_admin", json: ["name": "Customer of A"])
        #expect(own.status == 201 && own.json?["organization_id"] as? String == f.memberA, "\(own.text)")
        #expect(try await f.call(.POST, "/v1/pact-clients", as: "member_admin", json: ["name": "x", "organization_id": f.memberB]).status == 403)
        #expect(try await f.call(.POST, "/v1/pact-clients", as: "member_editor", json: ["name": "x"]).status == 403)
        #expect(try await f.call(.POST, "/v1/pact-clients", as: "coalition_admin", json: ["name": ""]).status == 422)
        #expect(try await f.call(.POST, "/v1/pact-clients", as: "coalition_admin", json: ["name": "x", "callback_client_id": "only-id"]).status == 422)
        // Listing follows the same rule.
        let mine = try await f.call(.GET, "/v1/pact-clients", as: "member_admin")
        #expect((mine.json?["items"] as? [[String: any Sendable]])?.count == 1)
        #expect(try await f.call(.GET, "/v1/pact-clients", as: "auditor").status == 403)
        // At rest: the secret's hash and the callback secret sealed, neither in clear.
        let rows = try await withOwnerConnection(database: f.db.name) { conn in
            try await conn.query("SELECT t::text AS row FROM pact_clients t").map { try $0.decode("row", as: String.self) }
        }
        #expect(rows.count == 2 && !rows.contains { $0.contains(secret) || $0.contains("callback-secret-0123456789") })
        // Nor in the answer kept for an Idempotency-Key (replayed without the secret).
        let keyed = try await CoalitionFixture.call(f.server, .POST, "/v1/pact-clients", token: f.adminToken, json: ["name": "Keyed"],
                                                    headers: [("Idempotency-Key", "pact-client-1")])
        let keyedSecret = try #require(keyed.json?["client_secret"] as? String)
        let kept = try await withOwnerConnection(database: f.db.name) { conn in
            try await conn.query("SELECT t::text AS row FROM idempotency_keys t").map { try $0.decode("row", as: String.self) }
        }
        #expect(!kept.isEmpty && !kept.contains { $0.contains(keyedSecret) })
        // Disabling a client: its admin only; afterwards its secret is refused.
        let ownID = try #require(own.json?["id"] as? String)
        #expect(try await CoalitionFixture.call(f.server, .POST, "/v1/pact-clients/\(try #require(admin.json?["id"] as? String))/disable",
                                                token: f.tokens["member_admin"]).status == 404)
        let disabled = try await f.call(.POST, "/v1/pact-clients/\(ownID)/disable", as: "member_admin")
        #expect(disabled.status == 200 && disabled.json?["disabled_at"] is String, "\(disabled.text)")
        #expect(try await f.call(.POST, "/v1/pact-clients/\(ownID)/disable", as: "member_admin").status == 404)
    }

    @Test func callbackCredentialsNeedTheSecretsKey() async throws {
        let f = try await CoalitionFixture.start()
        defer { Task { try? await f.stop() } }
        let r = try await f.call(.POST, "/v1/pact-clients", as: "coalition_admin", json: [
            "name": "Retailer", "callback_client_id": "id", "callback_client_secret": "secret",
        ])
        #expect(r.status == 422 && r.text.contains("COALITION_SECRETS_KEY"), "\(r.text)")
        let (status, stdout, stderr) = try await run("coalition-server", [
            "pact-clients", "create", "--name", "R", "--callback-client-id", "id", "--callback-client-secret", "s",
        ], environment: ["COALITION_OWNER_DATABASE_URL": try f.db.ownerURL, "DATABASE_URL": try f.db.ownerURL])
        #expect(status == 1 && stdout.isEmpty && stderr.contains("COALITION_SECRETS_KEY"), "\(stderr)")
        let (unknown, _, unknownErr) = try await run("coalition-server", ["pact-clients", "create", "--name", "R", "--organization", "nope"],
                                                     environment: ["COALITION_OWNER_DATABASE_URL": try f.db.ownerURL, "DATABASE_URL": try f.db.ownerURL])
        #expect(unknown == 1 && unknownErr.contains("no organization has the slug nope"), "\(unknownErr)")
        let (ok, line, _) = try await run("coalition-server", ["pact-clients", "create", "--name", "Retailer", "--organization", "member-a"],
                                          environment: ["COALITION_OWNER_DATABASE_URL": try f.db.ownerURL, "DATABASE_URL": try f.db.ownerURL])
        let printed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        #expect(ok == 0 && printed?["client_id"]?.hasPrefix("pc_") == true && printed?["client_secret"]?.hasPrefix("pcs_") == true, "\(line)")
        let clientID = try #require(printed?["client_id"])
        let (disabled, disabledLine, _) = try await run("coalition-server", ["pact-clients", "disable", clientID],
                                                        environment: ["COALITION_OWNER_DATABASE_URL": try f.db.ownerURL, "DATABASE_URL": try f.db.ownerURL])
        #expect(disabled == 0 && disabledLine.contains("\"disabled\":true"), "\(disabledLine)")
        let (again, _, againErr) = try await run("coalition-server", ["pact-clients", "disable", clientID],
                                                 environment: ["COALITION_OWNER_DATABASE_URL": try f.db.ownerURL, "DATABASE_URL": try f.db.ownerURL])
        #expect(again == 1 && againErr.contains("no enabled PACT client"), "\(againErr)")
    }

    /// The PACT API over plain HTTP answers no tokens and no data; behind a trusted proxy that
    /// terminated TLS it serves, and a client acting for an organization sees only that
    /// organization's published footprints. (The conformance suite, over TLS, is scripts/pact-test.)
    @Test func thePACTAPIServesOnlyOverHTTPSAndOnlyWhatTheClientMaySee() async throws {
        let f = try await CoalitionFixture.start(environment: ["COALITION_TRUSTED_PROXIES": "127.0.0.1/32"])
        defer { Task { try? await f.stop() } }
        let published = try #require(try await f.call(.POST, "/v1/footprints", as: "member_editor",
                                                      json: ["footprint": footprintDraft(product: "urn:gtin:1111")]).json?["id"] as? String)
        _ = try await f.call(.POST, "/v1/footprints/\(published)/publish", as: "member_editor")
        let draft = try #require(try await f.call(.POST, "/v1/footprints", as: "member_editor",
                                                  json: ["footprint": footprintDraft(product: "urn:gtin:2222")]).json?["id"] as? String)
        let coalitionClient = try await f.call(.POST, "/v1/pact-clients", as: "coalition_admin", json: ["name": "All"])
        let memberBClient = try await f.call(.POST, "/v1/pact-clients", as: "coalition_admin", json: ["name": "B's customer", "organization_id": f.memberB])
        func token(_ client: HTTPResult, https: Bool = true) async throws -> HTTPResult {
            let basic = Data("\(client.json?["client_id"] as? String ?? ""):\(client.json?["client_secret"] as? String ?? "")".utf8).base64EncodedString()
            var headers = [("Authorization", "Basic \(basic)"), ("Content-Type", "application/x-www-form-urlencoded")]
            if https { headers.append(("X-Forwarded-Proto", "https")) }
            return try await http(.POST, f.server.baseURL + "/auth/token", headers: headers, body: Data("grant_type=client_credentials".utf8))
        }
        let plain = try await token(coalitionClient, https: false)
        #expect(plain.status == 403 && plain.json?["code"] as? String == "AccessDenied" && !plain.text.contains("access_token"), "\(plain.text)")
        let all = try #require(try await token(coalitionClient).json?["access_token"] as? String)
        let onlyB = try #require(try await token(memberBClient).json?["access_token"] as? String)
        func list(_ token: String, _ query: String = "") async throws -> [String] {
            let r = try await http(.GET, f.server.baseURL + "/3/footprints" + query,
                                   headers: [("Authorization", "Bearer \(token)"), ("X-Forwarded-Proto", "https")])
            #expect(r.status == 200, "\(r.text)")
            return ((r.json?["data"] as? [[String: any Sendable]]) ?? []).compactMap { $0["id"] as? String }
        }
        #expect(try await list(all) == [published])
        #expect(try await list(all, "?productId=URN:GTIN:1111&geography=de") == [published], "filters match without regard to case")
        #expect(try await list(all, "?productId=urn:gtin:2222").isEmpty, "a draft is never served")
        #expect(try await list(onlyB).isEmpty, "a client of member B sees none of member A's footprints")
        let byID = try await http(.GET, f.server.baseURL + "/3/footprints/\(draft)", headers: [("Authorization", "Bearer \(all)"), ("X-Forwarded-Proto", "https")])
        #expect(byID.status == 404 && byID.json?["code"] as? String == "NotFound")
        // The header alone, from a peer that is not a trusted proxy, is not HTTPS: a second
        // server without trusted proxies refuses the same request.
        let bare = try await ServerProcess.start(database: f.db)
        defer { Task { _ = try? await bare.stop() } }
        let spoofed = try await http(.GET, bare.baseURL + "/3/footprints", headers: [("Authorization", "Bearer \(all)"), ("X-Forwarded-Proto", "https")])
        #expect(spoofed.status == 403 && !spoofed.text.contains("\"data\""))
        // Behind the trusted proxy, its own (last) value counts, not one the client sent ahead.
        let appended = try await http(.GET, f.server.baseURL + "/3/footprints",
                                      headers: [("Authorization", "Bearer \(all)"), ("X-Forwarded-Proto", "https, http")])
        #expect(appended.status == 403)
        // A disabled client's token and secret are refused.
        _ = try await f.call(.POST, "/v1/pact-clients/\(try #require(memberBClient.json?["id"] as? String))/disable", as: "coalition_admin")
        let afterDisable = try await http(.GET, f.server.baseURL + "/3/footprints", headers: [("Authorization", "Bearer \(onlyB)"), ("X-Forwarded-Proto", "https")])
        #expect(afterDisable.status == 400 && afterDisable.json?["code"] as? String == "BadRequest")
        #expect(try await token(memberBClient).status == 401)
    }

    /// `coalition footprints upload FILE.ndjson`: all or nothing, each refusal named by line.
    @Test func theCLIUploadsManyFootprintsAllOrNothing() async throws {
        let f = try await CoalitionFixture.start()
        defer { Task { try? await f.stop() } }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("fp-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        let env: [String: String?] = ["COALITION_URL": f.server.baseURL, "COALITION_TOKEN": f.tokens["member_editor"]]
        func line(_ doc: [String: any Sendable]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: doc as [String: Any]), as: UTF8.self)
        }
        var bad = footprintDraft(product: "urn:gtin:3")
        bad["productIds"] = [String]()
        let mixed = home.appendingPathComponent("mixed.ndjson")
        try [try line(footprintDraft(product: "urn:gtin:1")), try line(bad), "", try line(footprintDraft(product: "urn:gtin:2"))]
            .joined(separator: "\n").write(to: mixed, atomically: true, encoding: .utf8)
        let refused = try await runCLI(["footprints", "upload", mixed.path], configHome: home, environment: env)
        #expect(refused.status == 1 && refused.err.contains("line 2: productIds") && refused.err.split(separator: "\n").count == 1, "\(refused.err)")
        #expect(try await ownerCount(f, "SELECT count(*)::int FROM product_footprints") == 0, "nothing stored when one line is refused")
        let good = home.appendingPathComponent("good.ndjson")
        try [try line(footprintDraft(product: "urn:gtin:1")), try line(footprintDraft(product: "urn:gtin:2"))]
            .joined(separator: "\r\n").write(to: good, atomically: true, encoding: .utf8)
        let stored = try await runCLI(["footprints", "upload", good.path, "--publish"], configHome: home, environment: env)
        #expect(stored.status == 0, "\(stored.err)")
        #expect(stored.out.contains("stored 2 footprint(s), published"), "\(stored.out)")
        #expect(try await ownerCount(f, "SELECT count(*)::int FROM product_footprints WHERE state = 'published'") == 2)
        // The same file again (a lost answer, a second run) is answered from the first upload.
        let again = try await runCLI(["footprints", "upload", good.path, "--publish"], configHome: home, environment: env)
        #expect(again.status == 0 && again.out.contains("stored 2 footprint(s), published"), "\(again.err)")
        #expect(try await ownerCount(f, "SELECT count(*)::int FROM product_footprints") == 2)
        let empty = home.appendingPathComponent("empty.ndjson")
        try "\n\n".write(to: empty, atomically: true, encoding: .utf8)
        let none = try await runCLI(["footprints", "upload", empty.path], configHome: home, environment: env)
        #expect(none.status == 1 && none.err.contains("holds no footprint"), "\(none.err)")
        let viewer = try await runCLI(["footprints", "upload", good.path], configHome: home,
                                      environment: ["COALITION_URL": f.server.baseURL, "COALITION_TOKEN": f.tokens["member_viewer"]])
        #expect(viewer.status == 2 && viewer.err.contains("member admins and editors"), "\(viewer.err)")
        let big = home.appendingPathComponent("big.ndjson")
        #expect(FileManager.default.createFile(atPath: big.path, contents: Data(count: (16 << 20) + 1)))
        let tooBig = try await runCLI(["footprints", "upload", big.path], configHome: home, environment: env)
        #expect(tooBig.status == 2 && tooBig.err.contains("larger than 16 MiB"), "\(tooBig.err)")
        #expect(try await runCLI(["footprints", "upload", home.appendingPathComponent("missing").path], configHome: home, environment: env).status == 2)
    }

    /// A client names the host the server calls back; the server refuses loopback and private
    /// addresses (unless COALITION_OUTBOUND_ALLOW_PRIVATE), and records why, retrying later.
    @Test func answersToRequestsAreNotSentToPrivateAddresses() async throws {
        let f = try await CoalitionFixture.start(environment: ["COALITION_TRUSTED_PROXIES": "127.0.0.1/32", "COALITION_SECRETS_KEY": Self.secretsKey])
        defer { Task { try? await f.stop() } }
        let client = try await f.call(.POST, "/v1/pact-clients", as: "coalition_admin",
                                      json: ["name": "R", "callback_client_id": "id", "callback_client_secret": "secret"])
        let basic = Data("\(client.json?["client_id"] as? String ?? ""):\(client.json?["client_secret"] as? String ?? "")".utf8).base64EncodedString()
        let tokenAnswer = try await http(.POST, f.server.baseURL + "/auth/token",
                                         headers: [("Authorization", "Basic \(basic)"), ("Content-Type", "application/x-www-form-urlencoded"), ("X-Forwarded-Proto", "https")],
                                         body: Data("grant_type=client_credentials".utf8))
        let token = try #require(tokenAnswer.json?["access_token"] as? String)
        let event = #"{"specversion":"1.0","id":"r-1","source":"https://127.0.0.1:9","type":"org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3","data":{"productId":["urn:gtin:1"]}}"#
        let posted = try await http(.POST, f.server.baseURL + "/3/events",
                                    headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/cloudevents+json"), ("X-Forwarded-Proto", "https")],
                                    body: Data(event.utf8))
        #expect(posted.status == 200, "\(posted.text)")
        var lastError = ""
        for _ in 0..<50 where !lastError.contains("not a public address") {
            try await Task.sleep(for: .milliseconds(200))
            lastError = try await withOwnerConnection(database: f.db.name) { conn in
                try await conn.query("SELECT coalesce(last_error, '') AS e FROM pact_deliveries")[0].decode("e", as: String.self)
            }
        }
        #expect(lastError.contains("127.0.0.1 resolves to 127.0.0.1, not a public address"), "\(lastError)")
        #expect(try await ownerCount(f, "SELECT count(*)::int FROM pact_deliveries WHERE state = 'pending' AND attempts >= 1") == 1)
        // A client cannot fill the table: 1,000 requests waiting, the next is refused (a repeat
        // of a known one is still answered 200, recorded once).
        _ = try await withSuperuserConnection(database: f.db.name) { conn in
            try await conn.query(SQL(stringLiteral: """
                INSERT INTO pact_deliveries (client_id, request_event_id, source, request, next_attempt_at)
                SELECT client_id, 'filler-' || n, source, request, now() + interval '1 hour'
                FROM pact_deliveries, generate_series(1, 999) n
                """))
        }
        func post(_ id: String) async throws -> HTTPResult {
            try await http(.POST, f.server.baseURL + "/3/events",
                           headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/cloudevents+json"), ("X-Forwarded-Proto", "https")],
                           body: Data(event.replacingOccurrences(of: "\"r-1\"", with: "\"\(id)\"").utf8))
        }
        let full = try await post("r-2")
        #expect(full.status == 400 && full.text.contains("1000 requests waiting"), "\(full.text)")
        #expect(try await post("r-1").status == 200)
        #expect(try await ownerCount(f, "SELECT count(*)::int FROM pact_deliveries") == 1000)
        #expect(OutboundAddress.isPrivate("10.1.2.3") && OutboundAddress.isPrivate("::1") && OutboundAddress.isPrivate("fd00::1")
                && OutboundAddress.isPrivate("::ffff:192.168.1.1") && OutboundAddress.isPrivate("169.254.169.254"))
        #expect(!OutboundAddress.isPrivate("93.184.216.34") && !OutboundAddress.isPrivate("2606:2800:220:1:248:1893:25c8:1946"))
    }

    @Test func tlsAndSecretsSettingsAreCheckedTogether() throws {
        #expect(throws: ServerSettings.Invalid.self) { try ServerSettings.fromEnvironment(["COALITION_TLS_CERT_FILE": "/x.pem"]) }
        #expect(throws: ServerSettings.Invalid.self) { try ServerSettings.fromEnvironment(["COALITION_SECRETS_KEY": "c2hvcnQ="]) }
        let s = try ServerSettings.fromEnvironment([
            "COALITION_TLS_CERT_FILE": "/c.pem", "COALITION_TLS_KEY_FILE": "/k.pem", "COALITION_SECRETS_KEY": Self.secretsKey,
        ])
        #expect(s.servesTLS && s.secretsKey?.count == 32)
    }
}
