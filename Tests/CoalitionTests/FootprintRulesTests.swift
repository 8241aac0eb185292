import CoalitionDomain
import CoalitionModels
import Foundation
import Testing

/// A member's draft: a liquid laundry detergent, per liter, made in Germany.
private let draftText = #"""
{
  "precedingPfIds": ["3f1c2b7e-9a4d-4e2b-8c1f-5d6e7f8a9b0c"],
  "validityPeriodStart": "2025-02-01T00:00:00Z",
  "validityPeriodEnd": "2027-02-01T00:00:00+01:00",
  "companyName": "Acme Home Care GmbH",
  "companyIds": ["urn:pact:acme-homecare.example:company-id:DE-4711", "urn:lei:529900T8BM49AURSDO55"],
  "productDescription": "Concentrated liquid laundry detergent for 40 washes, in a 1 l HDPE bottle with PP cap.",
  "productIds": ["urn:gtin:4006381333931", "urn:pact:acme-homecare.example:supplier-id:LD-1000"],
  "productClassifications": ["urn:pact:unstats.un.org:un-cpc:35321"],
  "productNameCompany": "Acme Clean Liquid 1 L",
  "comment": "Cradle-to-gate; surfactants from the 2024 supplier PCFs; electricity from the site's green tariff.",
  "pcf": {
    "declaredUnitOfMeasurement": "liter",
    "declaredUnitAmount": "1",
    "productMassPerDeclaredUnit": "1.05",
    "referencePeriodStart": "2024-01-01T00:00:00Z",
    "referencePeriodEnd": "2025-01-01T00:00:00Z",
    "geographyCountry": "DE",
    "boundaryProcessesDescription": "Raw materials, transport to the site, mixing, filling and packaging.",
    "pcfExcludingBiogenicUptake": "1.42",
    "pcfIncludingBiogenicUptake": "1.38",
    "fossilGhgEmissions": "1.31",
    "fossilCarbonContent": "0.21",
    "biogenicCarbonContent": "0.012",
    "landUseChangeGhgEmissions": "0.05",
    "biogenicCO2Uptake": "-0.04",
    "packagingEmissionsIncluded": true,
    "packagingGhgEmissions": "0.11",
    "ccsTechnologicalCO2CaptureIncluded": false,
    "ipccCharacterizationFactors": ["AR6"],
    "crossSectoralStandards": ["ISO14067", "PACT-3.0"],
    "productOrSectorSpecificRules": [{"operator": "PEF", "ruleNames": ["PEFCR Household Heavy Duty Liquid Laundry Detergents"]}],
    "exemptedEmissionsPercent": "0.8",
    "exemptedEmissionsDescription": "Cleaning agents of the filling line (below the 1% threshold).",
    "allocationRulesDescription": "Site energy allocated by mass of product.",
    "secondaryEmissionFactorSources": [{"name": "ecoinvent", "version": "3.10"}],
    "primaryDataShare": "42.5",
    "dqi": {"technologicalDQR": "1.8", "geographicalDQR": "2.1", "temporalDQR": "1.5"},
    "verification": {"coverage": "product level", "providerName": "Example Assurance AG", "completedAt": "2025-03-14T10:30:00+01:00", "standardName": "ISO 14067"}
  },
  "extensions": [{
    "specVersion": "2.0.0",
    "dataSchema": "https://example.org/extensions/detergent/1.0.0/data-model.json",
    "data": {"dosageMlPerWash": 35, "washes": [40]}
  }]
}
"""#

private func parsed(_ text: String) -> JSONValue {
    (try? JSONValue.parse(Array(text.utf8))) ?? .null
}

private let draft = parsed(draftText)
private let complete = draft
    .setting("id", .string("f4b1225a-bd44-4c8e-861d-079e4e1dfd69"))
    .setting("specVersion", .string("3.0.0"))
    .setting("created", .string("2025-03-20T09:00:00Z"))
    .setting("status", .string("Active"))

extension JSONValue {
    /// A copy with the member at a dotted path ("pcf.dqi.temporalDQR") set, or removed for nil.
    fileprivate func setting(_ path: String, _ value: JSONValue?) -> JSONValue {
        setting(path.split(separator: ".").map(String.init)[...], value)
    }

    private func setting(_ keys: ArraySlice<String>, _ value: JSONValue?) -> JSONValue {
        guard let key = keys.first, case .object(var members) = self else { return value ?? .null }
        members[key] = keys.count == 1 ? value : (members[key] ?? .object([:])).setting(keys.dropFirst(), value)
        return .object(members)
    }
}

private func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }

private func date(_ text: String) -> Date { FootprintRules.timestamp(text) ?? .distantFuture }

@Suite("PACT v3 footprint rules")
struct FootprintRulesTests {
    @Test func theSampleDraftIsValidAndItsCompleteFormToo() {
        #expect(draft != .null)
        #expect(FootprintRules.validateDraft(draft) == [])
        #expect(FootprintRules.validateComplete(complete) == [])
        #expect(FootprintRules.serverFields == ["id", "specVersion", "created", "status"])
        // A null member is undefined in PACT: optional ones may be null, required ones may not.
        #expect(FootprintRules.validateDraft(draft.setting("comment", .null).setting("pcf.dqi", .null)) == [])
    }

    @Test func serverFieldsAreRefusedInADraftAndRequiredInACompleteDocument() {
        #expect(FootprintRules.validateDraft(complete) == ["created", "id", "specVersion", "status"].map {
            Problem.FieldError(field: $0, message: "is set by the server")
        })
        #expect(FootprintRules.validateComplete(draft) == ["created", "id", "specVersion", "status"].map {
            Problem.FieldError(field: $0, message: "is required")
        })
        let broken = complete.setting("id", .string("f4b1225a-bd44-4c8e-861d"))
            .setting("specVersion", .string("v3")).setting("created", .string("yesterday")).setting("status", .string("active"))
            .setting("precedingPfIds", strings(["f4b1225a-bd44-4c8e-861d-079e4e1dfd69", "F4B1225A-BD44-4C8E-861D-079E4E1DFD69"]))
        #expect(FootprintRules.validateComplete(broken).map(\.field) == ["id", "specVersion", "created", "status"])
        let own = complete.setting("precedingPfIds", strings(["F4B1225A-BD44-4C8E-861D-079E4E1DFD69"]))
        #expect(FootprintRules.validateComplete(own) == [.init(field: "precedingPfIds", message: "must not hold the footprint's own id")])
    }

    @Test func eachDefectNamesItsFieldAndReason() {
        let decimal = "must be a decimal string such as \"1.25\""
        let urn = "must be a URN such as \"urn:gtin:4712345060507\""
        let timestamp = "must be an RFC 3339 date-time such as \"2025-01-01T00:00:00Z\""
        let longText = String(repeating: "é", count: 10_001)
        let defects: [(String, JSONValue?, String, String)] = [
            // Missing required (null is undefined too).
            ("productNameCompany", nil, "productNameCompany", "is required"),
            ("companyName", .null, "companyName", "is required"),
            ("pcf.fossilCarbonContent", nil, "pcf.fossilCarbonContent", "is required"),
            ("pcf.dqi.temporalDQR", nil, "pcf.dqi.temporalDQR", "is required"),
            ("pcf.productOrSectorSpecificRules", .array([.object(["operator": .string("Other"), "ruleNames": strings(["X"])])]),
             "pcf.productOrSectorSpecificRules[0].otherOperatorName", "is required when operator is Other"),
            // Wrong type.
            ("companyName", .number("5"), "companyName", "must be a string"),
            ("companyName", .string(""), "companyName", "must not be empty"),
            ("productIds", .string("urn:gtin:4006381333931"), "productIds", "must be an array"),
            ("pcf", .array([]), "pcf", "must be an object"),
            ("pcf.packagingEmissionsIncluded", .string("true"), "pcf.packagingEmissionsIncluded", "must be true or false"),
            ("extensions", .array([.string("x")]), "extensions[0]", "must be an object"),
            // Decimals: syntax, JSON numbers, signs and ranges.
            ("pcf.declaredUnitAmount", .string("1,5"), "pcf.declaredUnitAmount", decimal),
            ("pcf.declaredUnitAmount", .string("1e3"), "pcf.declaredUnitAmount", decimal),
            ("pcf.declaredUnitAmount", .string(".5"), "pcf.declaredUnitAmount", decimal),
            ("pcf.pcfExcludingBiogenicUptake", .number("1.42"), "pcf.pcfExcludingBiogenicUptake", decimal),
            ("pcf.dqi.geographicalDQR", .number("2"), "pcf.dqi.geographicalDQR", decimal),
            ("pcf.declaredUnitAmount", .string("0.000"), "pcf.declaredUnitAmount", "must be greater than 0"),
            ("pcf.fossilGhgEmissions", .string("-0.1"), "pcf.fossilGhgEmissions", "must be 0 or more"),
            ("pcf.biogenicCO2Uptake", .string("+0.5"), "pcf.biogenicCO2Uptake", "must be 0 or less"),
            ("pcf.exemptedEmissionsPercent", .string("100.5"), "pcf.exemptedEmissionsPercent", "must be from 0 to 100"),
            ("pcf.primaryDataShare", .string("-1"), "pcf.primaryDataShare", "must be from 0 to 100"),
            ("pcf.dqi.temporalDQR", .string("0.9"), "pcf.dqi.temporalDQR", "must be from 1 to 5"),
            ("pcf.declaredUnitAmount", .string("1" + String(repeating: "0", count: 64)), "pcf.declaredUnitAmount", "must be at most 64 characters"),
            // URNs, UUIDs, URIs.
            ("productIds", strings(["urn:gtin:4006381333931", "gtin:4006381333931"]), "productIds[1]", urn),
            ("companyIds", strings(["urn:x:acme"]), "companyIds[0]", urn),
            ("companyIds", strings(["urn:pact:acme.example:company id:1"]), "companyIds[0]", urn),
            ("productClassifications", strings(["urn:cpc:"]), "productClassifications[0]", urn),
            ("precedingPfIds", strings(["{3f1c2b7e-9a4d-4e2b-8c1f-5d6e7f8a9b0c}"]), "precedingPfIds[0]",
             "must be a UUID such as \"f4b1225a-bd44-4c8e-861d-079e4e1dfd69\""),
            ("pcf.ccuCreditCertification", .string("www.example.com/cert"), "pcf.ccuCreditCertification",
             "must be an absolute URI such as \"https://example.com/schema.json\""),
            // Enumerations and patterns.
            ("pcf.declaredUnitOfMeasurement", .string("litre"), "pcf.declaredUnitOfMeasurement",
             "must be one of liter, kilogram, cubic meter, kilowatt hour, megajoule, ton kilometer, square meter, piece, hour, megabit second"),
            ("pcf.verification.coverage", .string("full"), "pcf.verification.coverage",
             "must be one of PCF calculation model, PCF program, product level"),
            ("pcf.ipccCharacterizationFactors", strings(["AR6", "AR 5"]), "pcf.ipccCharacterizationFactors[1]",
             "must be AR and a report number, such as \"AR6\""),
            ("pcf.geographyCountry", .string("de"), "pcf.geographyCountry", "must be an ISO 3166-1 alpha-2 code in capitals such as \"DE\""),
            ("pcf.geographyCountry", .string("DEU"), "pcf.geographyCountry", "must be an ISO 3166-1 alpha-2 code in capitals such as \"DE\""),
            ("extensions", .array([.object(["specVersion": .string("2.0"), "dataSchema": .string("https://e.org/s.json"), "data": .object([:])])]),
             "extensions[0].specVersion", "must be a semantic version such as \"2.0.0\""),
            // The geography: one of region, country, subdivision, or none.
            ("pcf.geographyCountrySubdivision", .string("DE-BW"), "pcf.geographyCountrySubdivision",
             "must not be set with geographyCountry: give one geography, or none for a global footprint"),
            // Periods.
            ("pcf.referencePeriodStart", .string("2025-01-01T00:00:01+00:00"), "pcf.referencePeriodEnd", "must be after pcf.referencePeriodStart"),
            ("pcf.referencePeriodStart", .string("2024-02-30T00:00:00Z"), "pcf.referencePeriodStart", timestamp),
            ("pcf.referencePeriodStart", .string("2024-01-01"), "pcf.referencePeriodStart", timestamp),
            ("validityPeriodStart", .string("2024-12-31T23:00:00Z"), "validityPeriodStart", "must not be before pcf.referencePeriodEnd"),
            ("validityPeriodEnd", .string("2028-01-01T00:00:01Z"), "validityPeriodEnd", "must not be later than 3 years after pcf.referencePeriodEnd"),
            ("validityPeriodEnd", .string("2025-02-01T01:00:00+01:00"), "validityPeriodEnd", "must be after validityPeriodStart"),
            // Conditional absences.
            ("pcf.packagingEmissionsIncluded", .bool(false), "pcf.packagingGhgEmissions", "must be absent when packagingEmissionsIncluded is false"),
            ("pcf.technologicalCO2Removals", .string("-0.2"), "pcf.technologicalCO2Removals",
             "must be absent when ccsTechnologicalCO2CaptureIncluded is false"),
            // Server fields and unknown properties.
            ("status", .string("Active"), "status", "is set by the server"),
            ("version", .number("1"), "version", "is not a PACT v3 property"),
            ("pcf.declaredUnit", .string("liter"), "pcf.declaredUnit", "is not a PACT v3 property"),
            ("pcf.dqi.coveragePercent", .string("80"), "pcf.dqi.coveragePercent", "is not a PACT v3 property"),
            // Sizes and repeats.
            ("productIds", strings((0...100).map { "urn:gtin:\($0)" }), "productIds", "must have at most 100 items"),
            ("extensions", .array(Array(repeating: .object([:]), count: 21)), "extensions", "must have at most 20 items"),
            ("companyIds", .array([]), "companyIds", "must not be empty"),
            ("productIds", strings(["urn:gtin:4006381333931", "urn:gtin:4006381333931"]), "productIds[1]", "repeats an earlier item"),
            ("productDescription", .string(longText), "productDescription", "must be at most 10000 characters"),
            ("comment", .string("a\u{0}b"), "comment", "must not contain the NUL character"),
            ("extensions", .array([.object(["specVersion": .string("2.0.0"), "dataSchema": .string("https://e.org/s.json"),
                                            "data": .object(["a": .array([.object(["b": .string("\u{0}")])])])])]),
             "extensions[0].data", "must not contain the NUL character"),
        ]
        for (path, value, field, message) in defects {
            let errors = FootprintRules.validateDraft(draft.setting(path, value))
            #expect(errors == [Problem.FieldError(field: field, message: message)], "setting \(path)")
        }
    }

    @Test func everyProblemIsReportedUpToABound() {
        let broken = draft.setting("companyName", nil).setting("pcf.declaredUnitAmount", .number("1"))
            .setting("pcf.geographyRegionOrSubregion", .string("Europe")).setting("id", .string("x"))
        #expect(FootprintRules.validateDraft(broken).map(\.field) == [
            "companyName", "id", "pcf.declaredUnitAmount", "pcf.geographyCountry",
        ])
        var hostile: [String: JSONValue] = [:]
        for i in 0..<1000 { hostile["unknown\(i)"] = .bool(true) }
        hostile[String(repeating: "k", count: 5000)] = .null
        hostile[String(repeating: "k", count: 5000) + "!"] = .bool(true)
        let errors = FootprintRules.validateDraft(.object(hostile))
        #expect(errors.count == FootprintRules.maxProblems + 1)
        #expect(errors.last == Problem.FieldError(field: "$", message: "has more problems; only the first 100 are listed"))
        #expect(errors.allSatisfy { $0.field.count <= 101 })
        #expect(FootprintRules.validateDraft(.array([])) == [.init(field: "$", message: "must be an object")])
    }

    @Test func aGlobalFootprintAndEachSingleGeographyAreValid() {
        let global = draft.setting("pcf.geographyCountry", nil)
        #expect(FootprintRules.validateDraft(global) == [])
        for (key, value) in [("geographyRegionOrSubregion", "Western Europe"), ("geographyCountrySubdivision", "DE-BW"), ("geographyCountrySubdivision", "FR-971")] {
            #expect(FootprintRules.validateDraft(global.setting("pcf." + key, .string(value))) == [], "\(key) \(value)")
        }
        for bad in ["DE-BW12", "DE_BW", "de-bw", "D-BW"] {
            #expect(FootprintRules.validateDraft(global.setting("pcf.geographyCountrySubdivision", .string(bad))).map(\.field) == ["pcf.geographyCountrySubdivision"], "\(bad)")
        }
        #expect(FootprintRules.validateDraft(global.setting("pcf.geographyRegionOrSubregion", .string("EU"))).map(\.field) == ["pcf.geographyRegionOrSubregion"])
    }

    @Test func timestampsFollowRFC3339AndTheirOffsets() {
        let midnight = Date(timeIntervalSince1970: 1_735_689_600)  // 2025-01-01T00:00:00Z
        #expect(FootprintRules.timestamp("2025-01-01T00:00:00Z") == midnight)
        #expect(FootprintRules.timestamp("2025-01-01T02:00:00+02:00") == midnight)
        #expect(FootprintRules.timestamp("2024-12-31T19:30:00-04:30") == midnight)
        #expect(FootprintRules.timestamp("2025-01-01t00:00:00z") == midnight)
        #expect(FootprintRules.timestamp("2025-01-01T00:00:00.250Z") == midnight.addingTimeInterval(0.25))
        #expect(FootprintRules.timestamp("1969-12-31T23:59:59Z") == Date(timeIntervalSince1970: -1))
        #expect(FootprintRules.timestamp("2024-02-29T12:00:00Z") == Date(timeIntervalSince1970: 1_709_208_000))
        for bad in ["2025-02-29T00:00:00Z", "2025-01-01 00:00:00Z", "2025-01-01T00:00:00", "2025-01-01T24:00:00Z", "2025-13-01T00:00:00Z",
                    "2025-01-01T00:00:60Z", "2025-01-01T00:00:00.Z", "2025-01-01T00:00:00+0200", "2025-01-01T00:00:00+02:00x", "２025-01-01T00:00:00Z"] {
            #expect(FootprintRules.timestamp(bad) == nil, "\(bad)")
        }
        #expect(FootprintRules.threeYears(after: date("2024-02-29T00:00:00Z")) == date("2027-02-28T00:00:00Z"))
    }

    @Test func facetsAreWhatTheFiltersMatch() {
        #expect(FootprintRules.facets(of: complete) == FootprintFacets(
            productIds: ["urn:gtin:4006381333931", "urn:pact:acme-homecare.example:supplier-id:LD-1000"],
            companyIds: ["urn:pact:acme-homecare.example:company-id:DE-4711", "urn:lei:529900T8BM49AURSDO55"],
            classifications: ["urn:pact:unstats.un.org:un-cpc:35321"], geographies: ["DE"],
            validityStart: date("2025-02-01T00:00:00Z"), validityEnd: date("2027-01-31T23:00:00Z")))
        // Without a validity period: 3 years from the end of the reference period.
        let open = complete.setting("validityPeriodStart", nil).setting("validityPeriodEnd", nil)
            .setting("pcf.referencePeriodEnd", .string("2025-01-01T00:00:00+01:00"))
        #expect(FootprintRules.validateComplete(open) == [])
        let facets = FootprintRules.facets(of: open)
        #expect(facets.validityStart == date("2024-12-31T23:00:00Z"))
        #expect(facets.validityEnd == date("2027-12-31T23:00:00Z"))
        // Only a start, or only an end: the other bound is the default one.
        let onlyEnd = FootprintRules.facets(of: open.setting("validityPeriodEnd", .string("2026-06-30T00:00:00Z")))
        #expect(onlyEnd.validityStart == date("2024-12-31T23:00:00Z") && onlyEnd.validityEnd == date("2026-06-30T00:00:00Z"))

        let global = complete.setting("pcf.geographyCountry", nil)
        #expect(FootprintRules.facets(of: global).geographies == [])
        #expect(FootprintRules.facets(of: global.setting("pcf.geographyCountrySubdivision", .string("DE-BW"))).geographies == ["DE-BW", "DE"])
        #expect(FootprintRules.facets(of: global.setting("pcf.geographyRegionOrSubregion", .string("Western Europe"))).geographies == ["Western Europe", "Europe"])
        #expect(FootprintRules.facets(of: global.setting("pcf.geographyRegionOrSubregion", .string("Asia"))).geographies == ["Asia"])
    }
}
