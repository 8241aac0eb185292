import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

/// What the PACT ListFootprints filters ask for: values of one parameter are OR'ed, parameters
/// AND'ed; an empty list is no filter.
public struct PACTFootprintFilter: Sendable, Equatable {
    public var productIDs: [String] = []
    public var companyIDs: [String] = []
    public var geographies: [String] = []
    public var classifications: [String] = []
    public var statuses: [String] = []
    public var validOn: Date?
    public var validAfter: Date?
    public var validBefore: Date?
    public init() {}
}

/// Why a footprint cannot be published.
public enum FootprintPublishRefusal: Error, Sendable, Equatable {
    case notDraft
    /// A footprint named in `precedingPfIds` is not an active published footprint of the
    /// organization (a footprint is superseded once: versions form a chain, not a fork).
    case unknownPreceding(UUID)
}

extension StoreTransaction {
    /// The complete PACT document of a row: the member's document with the fields the server
    /// sets, timestamps in UTC with `Z`.
    static let pactDocument = """
        (f.document || jsonb_build_object('id', f.id, 'specVersion', '3.0.0',
            'created', to_char(f.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'status', f.status))::text
        """
    static let footprintColumns = """
        f.id, f.organization_id, f.state, f.standard_id, f.created_by, f.created_at, f.published_at, f.preceding_ids,
        (extract(epoch FROM f.created_at) * 1000000)::bigint AS feed_micros, \(pactDocument) AS pact
        """

    static func footprint(_ row: Row) throws -> FootprintRecord {
        let text = try row.decode("pact", as: String.self)
        return FootprintRecord(
            id: try row.decode("id"), organizationID: try row.decode("organization_id"), state: try row.decode("state"),
            standardID: try row.decode("standard_id"), createdBy: try row.decode("created_by"), createdAt: try row.decode("created_at"),
            publishedAt: try row.decode("published_at"), footprint: try JSONValue.parse(Array(text.utf8)))
    }

    /// What the PACT filters compare: "The match must be case-insensitive" (the specification's
    /// productId, companyId, geography and classification), so both sides are lowercased.
    public static func folded(_ values: [String]) -> [String] { values.map { $0.lowercased() } }

    /// Stores a member's validated draft for the caller's organization, with its audit entry,
    /// in one statement. `final`: it is the transaction's last statement (`finalQuery`).
    public func createFootprint(
        _ document: JSONValue, facets: FootprintFacets, preceding: [UUID], standardID: UUID?, caller: Caller, final: Bool = false
    ) async throws -> FootprintRecord {
        let sql: SQL = """
            WITH f AS (
                INSERT INTO product_footprints (organization_id, document, standard_id, product_ids, company_ids, classifications,
                                                geographies, validity_start, validity_end, preceding_ids, created_by)
                VALUES (\(caller.organizationID), \(PQJSON(text: document.canonicalText)), \(standardID), \(Self.folded(facets.productIds)),
                        \(Self.folded(facets.companyIds)), \(Self.folded(facets.classifications)), \(Self.folded(facets.geographies)), \(facets.validityStart),
                        \(facets.validityEnd), \(preceding), \(caller.userID))
                RETURNING *
            ), a AS (
                INSERT INTO audit_log (actor_user_id, actor_organization_id, action, entity, entity_id, data)
                SELECT \(caller.userID), \(caller.organizationID), 'footprint.create', 'footprint', f.id::text,
                       jsonb_build_object('product_ids', f.product_ids, 'preceding_ids', f.preceding_ids)
                FROM f
            )
            SELECT \(unescaped: Self.footprintColumns) FROM f
            """
        let row = final ? try await finalQuery(sql) : try await query(sql)
        return try Self.footprint(row[0])
    }

    /// A footprint the caller sees (its organization's drafts, everyone's published ones).
    public func footprint(id: UUID, forUpdate: Bool = false) async throws -> (record: FootprintRecord, preceding: [UUID])? {
        guard let row = try await query("""
            SELECT \(unescaped: Self.footprintColumns) FROM product_footprints f WHERE f.id = \(id)\(unescaped: forUpdate ? " FOR UPDATE" : "")
            """).first else { return nil }
        return (try Self.footprint(row), try row.decode("preceding_ids"))
    }

    /// Footprints the caller sees, oldest first, keyset-paged by (created_at, id).
    public func footprints(
        organization: UUID?, state: FootprintState?, after cursor: (Int64, UUID)?, limit: Int
    ) async throws -> [(FootprintRecord, Int64)] {
        let rows = try await query("""
            SELECT \(unescaped: Self.footprintColumns) FROM product_footprints f
            WHERE (\(organization) IS NULL OR f.organization_id = \(organization))
              AND (\(state) IS NULL OR f.state = \(state))
              AND (\(cursor?.0) IS NULL OR (f.created_at, f.id) > (timestamptz 'epoch' + \(cursor?.0) * interval '1 microsecond', \(cursor?.1)))
            ORDER BY f.created_at, f.id LIMIT \(limit)
            """)
        return try rows.map { (try Self.footprint($0), try $0.decode("feed_micros", as: Int64.self)) }
    }

    /// Publishes a draft of the caller's organization (locked by `footprint(id:forUpdate:)`):
    /// the footprints it names in `precedingPfIds` must be published footprints of the same
    /// organization, and become `Deprecated` in the same transaction. Each step is audited.
    public func publishFootprint(_ id: UUID, preceding: [UUID], caller: Caller) async throws -> Result<FootprintRecord, FootprintPublishRefusal> {
        if !preceding.isEmpty {
            let deprecated = try await query("""
                UPDATE product_footprints SET status = 'Deprecated', deprecated_at = coalesce(deprecated_at, now())
                WHERE id = ANY(\(preceding)) AND organization_id = \(caller.organizationID) AND state = 'published' AND status = 'Active'
                RETURNING id
                """).map { try $0.decode("id", as: UUID.self) }
            if let missing = preceding.first(where: { !deprecated.contains($0) }) { return .failure(.unknownPreceding(missing)) }
            for old in deprecated {
                try await audit("footprint.deprecate", entity: "footprint", id: old.uuidString.lowercased(),
                                data: ["superseded_by": .string(id.uuidString.lowercased())])
            }
        }
        let row = try await query("""
            UPDATE product_footprints f SET state = 'published', published_at = now() WHERE f.id = \(id) AND f.state = 'draft'
            RETURNING \(unescaped: Self.footprintColumns)
            """)
        guard let row = row.first else { return .failure(.notDraft) }
        try await audit("footprint.publish", entity: "footprint", id: id.uuidString.lowercased())
        return .success(try Self.footprint(row))
    }

    /// The published footprints a PACT client sees (row-level security reads the client from
    /// the settings of `Store.readAsPACTClient`), matching `filter`, in feed order: each as its
    /// PACT document's JSON text, with its feed key.
    public func pactFootprints(_ filter: PACTFootprintFilter, after cursor: (Int64, UUID)?, limit: Int) async throws -> [(json: String, micros: Int64, id: UUID)] {
        let rows = try await query("""
            SELECT f.id, (extract(epoch FROM f.created_at) * 1000000)::bigint AS feed_micros, \(unescaped: Self.pactDocument) AS pact
            FROM product_footprints f
            WHERE f.state = 'published'
              AND (cardinality(\(filter.productIDs)::text[]) = 0 OR f.product_ids && \(filter.productIDs)::text[])
              AND (cardinality(\(filter.companyIDs)::text[]) = 0 OR f.company_ids && \(filter.companyIDs)::text[])
              AND (cardinality(\(filter.geographies)::text[]) = 0 OR f.geographies && \(filter.geographies)::text[])
              AND (cardinality(\(filter.classifications)::text[]) = 0 OR f.classifications && \(filter.classifications)::text[])
              AND (cardinality(\(filter.statuses)::text[]) = 0 OR f.status = ANY(\(filter.statuses)::text[]))
              AND (\(filter.validOn)::timestamptz IS NULL OR (f.validity_start <= \(filter.validOn) AND \(filter.validOn) <= f.validity_end))
              AND (\(filter.validAfter)::timestamptz IS NULL OR f.validity_start > \(filter.validAfter))
              AND (\(filter.validBefore)::timestamptz IS NULL OR f.validity_end < \(filter.validBefore))
              AND (\(cursor?.0) IS NULL OR (f.created_at, f.id) > (timestamptz 'epoch' + \(cursor?.0) * interval '1 microsecond', \(cursor?.1)))
            ORDER BY f.created_at, f.id LIMIT \(limit)
            """)
        return try rows.map { (try $0.decode("pact"), try $0.decode("feed_micros"), try $0.decode("id")) }
    }

    /// An organization's published footprints for its report, oldest first.
    public func reportedFootprints(organization: UUID, limit: Int = 100) async throws -> [ReportedFootprint] {
        try await query("""
            SELECT id, document->>'productNameCompany' AS name, ARRAY(SELECT jsonb_array_elements_text(document->'productIds')) AS product_ids,
                   document->'pcf'->>'declaredUnitOfMeasurement' AS unit,
                   document->'pcf'->>'pcfExcludingBiogenicUptake' AS pcf, status, standard_id
            FROM product_footprints WHERE organization_id = \(organization) AND state = 'published'
            ORDER BY published_at, id LIMIT \(limit)
            """).map { row in
            ReportedFootprint(
                id: try row.decode("id"), productName: try row.decode("name"), productIDs: try row.decode("product_ids"),
                declaredUnit: try row.decode("unit"), pcfExcludingBiogenicUptake: try row.decode("pcf"), status: try row.decode("status"),
                standardID: try row.decode("standard_id"))
        }
    }

    /// Whether `id` is a published footprint of any organization (whether or not the caller
    /// may see it), for the PACT API's 403.
    public func isPublishedFootprint(id: UUID) async throws -> Bool {
        try await query("SELECT pact_footprint_is_published(\(id)) AS published")[0].decode("published")
    }

    /// One published footprint a PACT client sees, as its PACT document's JSON text.
    public func pactFootprint(id: UUID) async throws -> String? {
        try await query("""
            SELECT \(unescaped: Self.pactDocument) AS pact FROM product_footprints f WHERE f.id = \(id) AND f.state = 'published'
            """).first?.decode("pact")
    }
}

extension Store {
    /// Runs a read-only `body` as a PACT client: row-level security then shows the published
    /// footprints of `organization`, or of the whole coalition when it is nil.
    public func readAsPACTClient<T>(organization: UUID?, _ body: (StoreTransaction) async throws -> T) async throws -> T {
        let org = organization?.uuidString.lowercased() ?? ""
        let setup: SQL = """
            SELECT set_config('coalition.user_id', '', true), set_config('coalition.organization_id', \(org), true),
                   set_config('coalition.role', 'pact_client', true), set_config('transaction_read_only', 'on', true)
            """
        return try await pool.reading(setup: setup) { connection in
            try await body(StoreTransaction(connection: connection, caller: nil, concludes: false))
        }
    }
}
