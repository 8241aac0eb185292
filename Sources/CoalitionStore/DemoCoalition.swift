import CoalitionDomain
import CoalitionModels
import Foundation
import PQ

/// The demo coalition of the SPEC's examples, under fictional names and with invented figures:
/// a secretariat, twenty members, a standards institute, three joint projects with milestones
/// and a year of monthly submissions in every state.
public enum DemoCoalition {
    public struct Account: Sendable {
        public var email: String
        public var role: Role
        public var organization: String
    }

    public enum Outcome: Sendable {
        case seeded(accounts: [Account], submissions: Int, footprints: Int)
        case alreadyPresent(accounts: [Account])
    }

    static let members: [(slug: String, name: String, sector: String)] = [
        ("greenmart", "Greenmart Platform Group", "e-commerce platform"),
        ("unilux-china", "Unilux (China)", "consumer goods"),
        ("clearspring", "Clearspring Beverages", "food and beverage"),
        ("meadowgold", "Meadowgold Dairy", "dairy"),
        ("swiftroute", "Swiftroute Logistics", "logistics"),
        ("brightleaf", "Brightleaf Foods", "food and beverage"),
        ("northwind-apparel", "Northwind Apparel", "apparel"),
        ("cedar-home", "Cedar Home Care", "consumer goods"),
        ("lotus-care", "Lotus Personal Care", "consumer goods"),
        ("harbor-snacks", "Harbor Snacks", "food and beverage"),
        ("silverline", "Silverline Electronics", "electronics"),
        ("pinecrest-paper", "Pinecrest Paper", "packaging"),
        ("bluepeak-water", "Bluepeak Water", "food and beverage"),
        ("goldfield-grains", "Goldfield Grains", "food and beverage"),
        ("redwood-furniture", "Redwood Furniture", "home"),
        ("sunrise-juice", "Sunrise Juice", "food and beverage"),
        ("evergreen-pharmacy", "Evergreen Pharmacy", "retail"),
        ("oakridge-coffee", "Oakridge Coffee", "food and beverage"),
        ("moonbay-cosmetics", "Moonbay Cosmetics", "consumer goods"),
        ("riverstone-retail", "Riverstone Retail", "retail"),
    ]

    /// Everyone who can log in, with the role they demonstrate.
    public static let accounts: [Account] = [
        Account(email: "admin@coalition.example", role: .coalitionAdmin, organization: "secretariat"),
        Account(email: "reviewer@coalition.example", role: .coalitionAdmin, organization: "secretariat"),
        Account(email: "auditor@coalition.example", role: .auditor, organization: "secretariat"),
        Account(email: "auditor@standards-institute.example", role: .auditor, organization: "standards-institute"),
        Account(email: "admin@clearspring.example", role: .memberAdmin, organization: "clearspring"),
        Account(email: "editor@clearspring.example", role: .memberEditor, organization: "clearspring"),
        Account(email: "viewer@clearspring.example", role: .memberViewer, organization: "clearspring"),
        Account(email: "admin@greenmart.example", role: .memberAdmin, organization: "greenmart"),
        Account(email: "editor@greenmart.example", role: .memberEditor, organization: "greenmart"),
        Account(email: "admin@swiftroute.example", role: .memberAdmin, organization: "swiftroute"),
        Account(email: "editor@swiftroute.example", role: .memberEditor, organization: "swiftroute"),
        Account(email: "editor@meadowgold.example", role: .memberEditor, organization: "meadowgold"),
        Account(email: "editor@northwind-apparel.example", role: .memberEditor, organization: "northwind-apparel"),
        Account(email: "editor@riverstone-retail.example", role: .memberEditor, organization: "riverstone-retail"),
    ]

    struct DemoMilestone {
        var key, title, metric: String
        var target: String
        var monthly: (Int) -> Decimal
        var unit: String
    }

    struct DemoProject {
        var code, title, description: String
        var category: ProjectCategory
        var lead: String
        var participants: [String]
        var sdgs: [Int]
        var milestones: [DemoMilestone]
    }

    static func projects(_ today: CalendarDate) -> [DemoProject] {
        [
            DemoProject(
                code: "rpet-recycling", title: "rPET from factory waste",
                description: "Clearspring's factory PET waste recycled into rPET goods sold on Greenmart: clothing, bags, stationery and storage boxes; a first batch of 20,000 boxes.",
                category: .materials, lead: "clearspring", participants: ["clearspring", "greenmart", "northwind-apparel"], sdgs: [9, 12, 13],
                milestones: [
                    DemoMilestone(key: "rpet-tonnes", title: "Tonnes of rPET recycled", metric: "material_recycled", target: "2500",
                                  monthly: { Decimal(38 + ($0 * 7) % 11) + Decimal(string: "0.5")! }, unit: "t"),
                    DemoMilestone(key: "boxes-sold", title: "rPET storage boxes sold", metric: "products_sold", target: "150000",
                                  monthly: { Decimal(1200 + ($0 * 137) % 500) }, unit: "unit"),
                ]),
            DemoProject(
                code: "express-packaging", title: "Express-packaging recycling",
                description: "Cartons and mailers collected at delivery points and recycled; 7.4 million units in one shopping festival.",
                category: .packaging, lead: "swiftroute", participants: ["swiftroute", "greenmart", "riverstone-retail"], sdgs: [11, 12],
                milestones: [
                    DemoMilestone(key: "units-recycled", title: "Packaging units recycled", metric: "packaging_recycled", target: "40000000",
                                  monthly: { $0 == 11 ? 7_400_000 : Decimal(120_000 + ($0 * 9_173) % 40_000) }, unit: "unit"),
                    DemoMilestone(key: "co2e", title: "CO2e avoided by recycling", metric: "co2e_reduced", target: "30000",
                                  monthly: { Decimal(280_000 + ($0 * 31_337) % 90_000) }, unit: "kgCO2e"),
                ]),
            DemoProject(
                code: "goods-carbon-data", title: "Carbon-data recording for goods",
                description: "A carbon-data recording system for goods, built by Swiftroute Logistics with Meadowgold Dairy.",
                category: .logistics, lead: "swiftroute", participants: ["swiftroute", "meadowgold"], sdgs: [9, 13],
                milestones: [
                    DemoMilestone(key: "co2e-reduced", title: "Tonnes of CO2e reduced", metric: "co2e_reduced", target: "150000",
                                  monthly: { Decimal(4_100 + ($0 * 211) % 900) }, unit: "tCO2e"),
                    DemoMilestone(key: "clean-electricity", title: "Share of clean electricity", metric: "clean_electricity_share", target: "30",
                                  monthly: { Decimal(string: "18.4")! + Decimal($0) * Decimal(string: "0.3")! }, unit: "percent"),
                ]),
        ]
    }

    /// Seeds the demo coalition once; a second run changes nothing and says so. Runs as the
    /// owner role (like bootstrap), acting through the same store functions as the API.
    public static func seed(owner: ConnectionPool, passwordHash: String, today: CalendarDate) async throws -> Outcome {
        let store = Store(pool: owner)
        let present = try await store.transaction(as: nil) { try await $0.organization(slug: "clearspring") != nil }
        if present { return .alreadyPresent(accounts: accounts) }

        return try await store.transaction(as: nil) { tx in
            _ = try await tx.query("SELECT pg_advisory_xact_lock(7306370562)")
            // Organizations.
            var orgs: [String: UUID] = [:]
            if let secretariat = try await tx.query("SELECT id FROM organizations WHERE kind = 'secretariat' ORDER BY created_at LIMIT 1").first {
                orgs["secretariat"] = try secretariat.decode("id")
            } else {
                orgs["secretariat"] = try await tx.createOrganization(
                    slug: "secretariat", name: "Low-Carbon Consumption Coalition Secretariat", kind: .secretariat, sector: "secretariat",
                    joinedOn: CalendarDate(year: 2022, month: 7, day: 1)).id
            }
            for (i, m) in members.enumerated() {
                orgs[m.slug] = try await tx.createOrganization(
                    slug: m.slug, name: m.name, kind: .member, sector: m.sector,
                    joinedOn: CalendarDate(year: 2022, month: 7, day: 1 + i % 28)).id
            }
            orgs["standards-institute"] = try await tx.createOrganization(
                slug: "standards-institute", name: "National Institute of Standardisation", kind: .partner, sector: "standards",
                joinedOn: CalendarDate(year: 2022, month: 9, day: 15)).id
            // Users.
            var users: [String: Caller] = [:]
            for account in accounts {
                let org = orgs[account.organization]!
                let existing = try await tx.query("SELECT id FROM users WHERE lower(email) = lower(\(account.email))").first
                let id: UUID
                if let existing {
                    id = try existing.decode("id")
                } else {
                    id = try await tx.createUser(
                        organizationID: org, email: account.email,
                        displayName: account.email.split(separator: "@")[0].capitalized + " (" + account.organization + ")",
                        role: account.role, passwordHash: passwordHash).id
                }
                users[account.email] = Caller(userID: id, organizationID: org, role: account.role, scopes: [.read, .write], tokenID: UUID())
            }
            let admin = users["admin@coalition.example"]!
            let auditor = users["auditor@coalition.example"]!
            func editor(_ slug: String) -> Caller { users["editor@\(slug).example"]! }
            // Projects, milestones and a year of monthly submissions.
            var count = 0
            let yearAgo = CalendarDate(daysSinceEpoch: today.daysSinceEpoch - 380)
            for p in projects(today) {
                let project = try await tx.createProject(.init(
                    code: p.code, title: p.title, description: p.description, category: p.category, leadOrganizationID: orgs[p.lead]!,
                    startsOn: CalendarDate(year: yearAgo.year, month: yearAgo.month, day: 1)!,
                    endsOn: CalendarDate(year: today.year + 1, month: 12, day: 31)!, sdgs: p.sdgs))
                _ = try await tx.updateProject(id: project.id, StoreTransaction.ProjectChanges(status: .active))
                for participant in p.participants where participant != p.lead {
                    _ = try await tx.addParticipant(project: project.id, organization: orgs[participant]!)
                }
                for m in p.milestones {
                    let milestone = try await tx.acting(as: admin).createMilestone(
                        project: project.id, key: m.key, title: m.title, metric: m.metric, target: Decimal(string: m.target)!,
                        dueOn: CalendarDate(year: today.year + 1, month: 12, day: 31)!)
                    let aggregation = try await tx.metric(code: m.metric)!.aggregation
                    for participant in p.participants where users["editor@\(participant).example"] != nil {
                        let who = editor(participant)
                        for monthsAgo in stride(from: 12, through: 1, by: -1) {
                            var y = today.year
                            var mo = today.month - monthsAgo
                            while mo < 1 { mo += 12; y -= 1 }
                            let start = CalendarDate(year: y, month: mo, day: 1)!
                            let end = CalendarDate(year: y, month: mo, day: daysInMonthOf(y, mo))!
                            let draft = SubmissionDraft(
                                periodStart: start.description, periodEnd: end.description, value: m.monthly(monthsAgo).description,
                                unit: m.unit, notes: "monthly report", externalRef: "\(participant)-\(m.key)-\(start)")
                            guard case .success(let valid) = SubmissionRules.validate(draft, metricUnit: try await tx.metric(code: m.metric)!.unit, aggregation: aggregation, today: today),
                                case .created(let s) = try await tx.acting(as: who).submit(valid, milestone: milestone, caller: who)
                            else { continue }
                            count += 1
                            // Older months verified, then approved, recent ones awaiting review;
                            // one rejected and one withdrawn per series to show every state.
                            switch monthsAgo {
                            case 7...12:
                                _ = try await tx.acting(as: admin).transition(s.id, .approve, comment: nil, caller: admin)
                                _ = try await tx.acting(as: auditor).transition(s.id, .verify, comment: nil, caller: auditor)
                            case 4...6:
                                _ = try await tx.acting(as: admin).transition(s.id, .approve, comment: nil, caller: admin)
                            case 3:
                                _ = try await tx.acting(as: admin).transition(s.id, .reject, comment: "evidence missing: attach the weighbridge tickets", caller: admin)
                            case 2:
                                _ = try await tx.acting(as: who).transition(s.id, .withdraw, comment: nil, caller: who)
                            default:
                                break
                            }
                        }
                    }
                }
            }
            // Standards: the detergent guideline published and adopted, a second standard in
            // review with one approval, and a draft.
            let reviewer = users["reviewer@coalition.example"]!
            let unilux = Caller(userID: admin.userID, organizationID: orgs["unilux-china"]!, role: .coalitionAdmin, scopes: [.read, .write], tokenID: UUID())
            let detergent = try await tx.acting(as: unilux).createStandard(
                title: "Guidelines for the production of green and low-carbon liquid detergents", category: .product,
                issuers: [orgs["greenmart"]!, orgs["unilux-china"]!, orgs["standards-institute"]!],
                body: Self.detergentGuideline, changeNote: "first edition", caller: unilux)
            var locked = try await tx.lockStandard(id: detergent)!
            try await tx.acting(as: unilux).submitStandard(locked)
            locked = try await tx.lockStandard(id: detergent)!
            _ = try await tx.acting(as: admin).castReview(locked, decision: .approve, comment: nil, configuredQuorum: 2, caller: admin)
            locked = try await tx.lockStandard(id: detergent)!
            _ = try await tx.acting(as: reviewer).castReview(locked, decision: .approve, comment: "well evidenced", configuredQuorum: 2, caller: reviewer)
            locked = try await tx.lockStandard(id: detergent)!
            try await tx.acting(as: admin).publishStandard(locked)
            for (i, slug) in ["unilux-china", "cedar-home", "lotus-care", "greenmart"].enumerated() {
                let adopter = Caller(userID: admin.userID, organizationID: orgs[slug]!, role: .memberAdmin, scopes: [.read, .write], tokenID: UUID())
                _ = try await tx.acting(as: adopter).adopt(standard: detergent, version: 1, adoptedOn: CalendarDate(year: 2023, month: 3 + i, day: 1)!,
                                       evidenceURL: "https://\(slug).example/detergent-lca.pdf", caller: adopter)
            }
            let swiftroute = Caller(userID: users["admin@swiftroute.example"]!.userID, organizationID: orgs["swiftroute"]!, role: .memberAdmin, scopes: [.read, .write], tokenID: UUID())
            let packaging = try await tx.acting(as: swiftroute).createStandard(
                title: "Recyclable express packaging: materials and labelling", category: .packaging,
                issuers: [orgs["swiftroute"]!, orgs["greenmart"]!],
                body: "# Recyclable express packaging\n\nMono-material mailers, water-based inks, a recycling label on every parcel.",
                changeNote: "first edition", caller: swiftroute)
            locked = try await tx.lockStandard(id: packaging)!
            try await tx.acting(as: swiftroute).submitStandard(locked)
            locked = try await tx.acting(as: admin).lockStandard(id: packaging)!
            _ = try await tx.acting(as: admin).castReview(locked, decision: .approve, comment: nil, configuredQuorum: 2, caller: admin)
            let meadowgold = Caller(userID: users["editor@meadowgold.example"]!.userID, organizationID: orgs["meadowgold"]!, role: .memberEditor, scopes: [.read, .write], tokenID: UUID())
            _ = try await tx.acting(as: meadowgold).createStandard(
                title: "Carbon data of chilled dairy goods in transit", category: .logistics, issuers: [orgs["meadowgold"]!, orgs["swiftroute"]!],
                body: "# Carbon data of chilled dairy goods\n\nDraft: what a shipment record holds.", changeNote: "outline", caller: meadowgold)
            let footprints = try await seedFootprints(in: tx, organizations: orgs, user: admin.userID, standard: detergent)
            return .seeded(accounts: accounts, submissions: count, footprints: footprints)
        }
    }

    static let detergentGuideline = """
        # Guidelines for the production of green and low-carbon liquid detergents

        1. Scope: household liquid laundry and dish detergents.
        2. Concentration: at least 2× the reference formula per wash.
        3. Packaging: at least 30 % post-consumer recycled plastic; refill packs offered.
        4. Carbon data: a cradle-to-gate footprint per functional unit, published with the product.
        """

    static func daysInMonthOf(_ year: Int, _ month: Int) -> Int {
        let next = month == 12 ? CalendarDate(year: year + 1, month: 1, day: 1)! : CalendarDate(year: year, month: month + 1, day: 1)!
        return CalendarDate(daysSinceEpoch: next.daysSinceEpoch - 1).day
    }
}
