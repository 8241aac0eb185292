import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

/// The demo's product footprints: six published footprints of members' goods (a detergent per
/// liter in two versions, the first deprecated by the second; an rPET storage box, an express
/// box, a dairy product per kilogram, a refill pack, a dish detergent) and one draft, with
/// product ids as URNs, company ids, classifications and geographies that the PACT filters find.
extension DemoCoalition {
    struct DemoFootprint {
        var organization: String
        var company: String
        var product: String
        var gtin: String
        var description: String
        var classification: String
        var unit: String
        var mass: String
        var country: String
        var excluding: String
        var including: String
        var fossil: String
        var published = true
        var cites: Bool = false
    }

    static let demoFootprints: [DemoFootprint] = [
        DemoFootprint(
            organization: "unilux-china", company: "Unilux (China)", product: "Unilux Concentrated Liquid Detergent 1 L", gtin: "6901234500017",
            description: "Concentrated liquid laundry detergent, 40 washes, 1 l bottle with 30 % recycled HDPE.",
            classification: "urn:pact:unstats.un.org:un-cpc:35321", unit: "liter", mass: "1.05", country: "CN",
            excluding: "1.62", including: "1.58", fossil: "1.49", cites: true),
        DemoFootprint(
            organization: "clearspring", company: "Clearspring Beverages", product: "Clearspring rPET Storage Box 5 L", gtin: "6901234500024",
            description: "Storage box moulded from rPET flakes of the factory's own bottle waste.",
            classification: "urn:pact:unstats.un.org:un-cpc:36490", unit: "piece", mass: "0.42", country: "CN",
            excluding: "0.61", including: "0.61", fossil: "0.58"),
        DemoFootprint(
            organization: "meadowgold", company: "Meadowgold Dairy", product: "Meadowgold Fresh Milk", gtin: "6901234500031",
            description: "Pasteurised whole milk, chilled, per kilogram at the dairy's gate.",
            classification: "urn:pact:unstats.un.org:un-cpc:22110", unit: "kilogram", mass: "1", country: "CN",
            excluding: "1.21", including: "1.19", fossil: "0.34"),
        DemoFootprint(
            organization: "swiftroute", company: "Swiftroute Logistics", product: "Swiftroute Recyclable Express Box M", gtin: "6901234500048",
            description: "Mono-material corrugated express box, size M, water-based inks, recycling label.",
            classification: "urn:pact:unstats.un.org:un-cpc:32151", unit: "piece", mass: "0.31", country: "CN",
            excluding: "0.27", including: "0.19", fossil: "0.22"),
        DemoFootprint(
            organization: "greenmart", company: "Greenmart Platform Group", product: "Greenmart Detergent Refill Pouch 2 L", gtin: "6901234500055",
            description: "Refill pouch of liquid laundry detergent, 2 l, mono-PE.",
            classification: "urn:pact:unstats.un.org:un-cpc:35321", unit: "liter", mass: "1.04", country: "DE",
            excluding: "1.44", including: "1.40", fossil: "1.33", cites: true),
        DemoFootprint(
            organization: "cedar-home", company: "Cedar Home Care", product: "Cedar Dish Liquid 500 ml", gtin: "6901234500062",
            description: "Hand dish-washing liquid in a 100 % recycled PET bottle.",
            classification: "urn:pact:unstats.un.org:un-cpc:35321", unit: "liter", mass: "1.02", country: "FR",
            excluding: "1.12", including: "1.09", fossil: "1.02"),
        DemoFootprint(
            organization: "meadowgold", company: "Meadowgold Dairy", product: "Meadowgold Yoghurt (draft)", gtin: "6901234500079",
            description: "Set yoghurt, per kilogram: figures still being collected.",
            classification: "urn:pact:unstats.un.org:un-cpc:22290", unit: "kilogram", mass: "1", country: "CN",
            excluding: "1.9", including: "1.9", fossil: "0.6", published: false),
    ]

    /// The PACT document of a demo footprint (the fields the server sets are left out).
    static func document(_ f: DemoFootprint, year: Int, preceding: UUID? = nil) -> JSONValue {
        var top: [String: JSONValue] = [
            "companyName": .string(f.company),
            "companyIds": .array([.string("urn:pact:coalition.example:company:\(f.organization)")]),
            "productDescription": .string(f.description),
            "productIds": .array([.string("urn:gtin:\(f.gtin)")]),
            "productClassifications": .array([.string(f.classification)]),
            "productNameCompany": .string(f.product),
            "comment": .string("Demo footprint of the Low-Carbon Consumption Coalition; invented figures."),
            "pcf": .object([
                "declaredUnitOfMeasurement": .string(f.unit),
                "declaredUnitAmount": .string("1"),
                "productMassPerDeclaredUnit": .string(f.mass),
                "referencePeriodStart": .string("\(year)-01-01T00:00:00Z"),
                "referencePeriodEnd": .string("\(year + 1)-01-01T00:00:00Z"),
                "geographyCountry": .string(f.country),
                "boundaryProcessesDescription": .string("Cradle to gate: raw materials, transport to the site, production and packaging."),
                "pcfExcludingBiogenicUptake": .string(f.excluding),
                "pcfIncludingBiogenicUptake": .string(f.including),
                "fossilGhgEmissions": .string(f.fossil),
                "fossilCarbonContent": .string("0.2"),
                "ipccCharacterizationFactors": .array([.string("AR6")]),
                "crossSectoralStandards": .array([.string("ISO14067")]),
                "exemptedEmissionsPercent": .string("0.5"),
            ]),
        ]
        if let preceding { top["precedingPfIds"] = .array([.string(preceding.uuidString.lowercased())]) }
        return .object(top)
    }

    /// Stores the demo footprints as their organizations' users, publishes them, and versions
    /// the detergent (the 2023 footprint deprecated by the 2024 one).
    static func seedFootprints(
        in tx: StoreTransaction, organizations: [String: UUID], user: UUID, standard: UUID
    ) async throws -> Int {
        var published = 0
        for f in demoFootprints {
            let caller = Caller(userID: user, organizationID: organizations[f.organization]!, role: .memberEditor, scopes: [.read, .write], tokenID: UUID())
            let member = try await tx.acting(as: caller)
            var versions: [(year: Int, preceding: UUID?)] = [(2024, nil)]
            if f.cites && f.organization == "unilux-china" { versions = [(2023, nil), (2024, nil)] }
            var previous: UUID?
            for version in versions {
                let doc = document(f, year: version.year, preceding: previous)
                let problems = FootprintRules.validateDraft(doc)
                precondition(problems.isEmpty, "demo footprint \(f.product) is invalid: \(problems)")
                let record = try await member.createFootprint(
                    doc, facets: FootprintRules.facets(of: doc), preceding: previous.map { [$0] } ?? [], standardID: f.cites ? standard : nil,
                    caller: caller)
                if f.published {
                    _ = try await member.publishFootprint(record.id, preceding: previous.map { [$0] } ?? [], caller: caller).get()
                    published += 1
                }
                previous = record.id
            }
        }
        return published
    }
}
