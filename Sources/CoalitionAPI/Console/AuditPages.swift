import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// `/console/audit` (coalition admins and auditors): the log newest first, filtered by entity
/// type and action, a page at a time, and a "verify chain" button that recomputes the hash
/// chain and shows its head.
extension ConsoleRoutes {
    static let auditPageSize = 50

    var auditRoutes: [Route] {
        [(.get, "/console/audit", page { request, _, session in try await audit(request, session) })]
    }

    func audit(_ request: Request, _ session: ConsoleSession) async throws -> Response {
        let caller = session.caller
        try check(Policy.readAudit(caller), "the audit log")
        var query = QueryReader(request)
        let entity = query.string("entity")
        let action = query.string("action")
        let before = query.integer("before", range: 1...Int(Int64.max))
        let verify = query.flag("verify")
        try query.finish()
        for (name, value) in [("entity", entity), ("action", action)] {
            if let value, let reason = JSONBody.reason(value, { Validate.length($0, 1...100) }) { throw Problems.invalid(name, reason) }
        }
        let (entries, vocabulary, names, people) = try await env.store.read(as: caller) { tx in
            let entries = try await tx.auditEntries(before: before.map(Int64.init), entity: entity, action: action, limit: Self.auditPageSize)
            return (entries, try await tx.auditVocabulary(), try await tx.organizationNames(),
                    try await tx.userNames(Array(Set(entries.compactMap(\.actorUserID)))))
        }
        let verification = verify ? try await env.store.verifyAudit() : nil
        var older: String?
        if entries.count == Self.auditPageSize, let last = entries.last {
            var components = URLComponents()
            components.path = "/console/audit"
            components.queryItems = [("entity", entity), ("action", action), ("before", String(last.id))].compactMap { name, value in
                value.map { URLQueryItem(name: name, value: $0) }
            }
            older = components.string
        }
        let page = AuditPage(
            entities: vocabulary.entities.map { ConsoleOption(value: $0, label: $0, selected: $0 == entity) },
            actions: vocabulary.actions.map { ConsoleOption(value: $0, label: $0, selected: $0 == action) },
            entries: entries.map { e in
                AuditPage.Row(
                    id: e.id, at: ConsoleText.time(e.at), actor: e.actorUserID.flatMap { people[$0] } ?? (e.actorUserID == nil ? "the system" : "a user"),
                    organization: e.actorOrganizationID.flatMap { names[$0] } ?? "", action: e.action, entity: e.entity, entityID: e.entityID ?? "",
                    sealed: e.seq != nil)
            },
            older: older,
            verification: verification.map { v in
                AuditPage.Verification(ok: v.ok, entries: Int(v.entries), headHash: v.headHash ?? "none yet", firstBadSeq: v.firstBadSeq.map(String.init))
            })
        return pages.render("audit", page, session: session, current: "/console/audit")
    }
}

struct AuditPage: ConsolePage {
    struct Row {
        let id: Int64
        let at, actor, organization, action, entity, entityID: String
        let sealed: Bool
    }

    struct Verification {
        let ok: Bool
        let entries: Int
        let headHash: String
        let firstBadSeq: String?
    }

    var title: String { "Audit log" }
    let entities, actions: [ConsoleOption]
    let entries: [Row]
    let older: String?
    let verification: Verification?
}
