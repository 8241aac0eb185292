import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// `/v1/organizations`, their users and tokens, and `PATCH /v1/users/{id}`.
struct OrganizationRoutes {
    let env: APIEnvironment

    var endpoints: [Endpoint] {
        [
            .caller(.get, "/v1/organizations", list),
            .writer(.post, "/v1/organizations", create),
            .caller(.get, "/v1/organizations/{id}") { _, context in try await show(context) },
            .writer(.patch, "/v1/organizations/{id}", update),
            .caller(.get, "/v1/organizations/{id}/users", listUsers),
            .writer(.post, "/v1/organizations/{id}/users", createUser),
            .writer(.patch, "/v1/users/{id}", updateUser),
            .caller(.get, "/v1/organizations/{id}/tokens", listTokens),
            .writer(.delete, "/v1/organizations/{id}/tokens/{token_id}") { _, context in try await revokeToken(context) },
        ]
    }

    func list(_ request: Request, _ context: CallerContext) async throws -> Response {
        let page = try PageRequest<String>.read(request)
        let rows = try await env.store.transaction(as: context.caller) { try await $0.organizations(after: page.after, limit: page.fetchLimit) }
        return try jsonResponse(page.page(rows) { $0.slug })
    }

    func show(_ context: CallerContext) async throws -> Response {
        let id = try context.uuid("id", what: "the organization")
        try check(Policy.readOrganization(context.caller, id), "the organization")
        guard let organization = try await env.store.transaction(as: context.caller, { try await $0.organization(id: id) }) else {
            throw Problems.notFound("the organization")
        }
        return try jsonResponse(organization)
    }

    func create(_ request: Request, _ context: CallerContext) async throws -> Response {
        try check(Policy.createOrganization(context.caller), "the organization")
        let new = try await NewOrganization.read(request, limit: context.bodyLimit)
        return try await mappingConflicts {
            try await env.store.answering(as: context.caller) { tx in
                let organization = try await tx.createOrganization(slug: new.slug, name: new.name, kind: new.kind, sector: new.sector, joinedOn: new.joinedOn)
                return try jsonResponse(organization, status: .created, headers: [.location: "/v1/organizations/\(organization.id.uuidString.lowercased())"])
            }
        }
    }

    func update(_ request: Request, _ context: CallerContext) async throws -> Response {
        let id = try context.uuid("id", what: "the organization")
        try check(Policy.updateOrganization(context.caller, id), "the organization")
        let changes = try await StoreTransaction.OrganizationChanges.read(request, limit: context.bodyLimit)
        let organization = try await env.store.transaction(as: context.caller) { tx -> Organization? in
            if let status = changes.status, status != .active, try await tx.organization(id: id)?.kind == .secretariat {
                throw Problem(status: 409, title: "Conflict", detail: "the secretariat cannot be suspended or withdrawn: its admins run the coalition",
                              type: Problems.conflictType)
            }
            return try await tx.updateOrganization(id: id, changes)
        }
        // A suspended organization's tokens stop working here before the answer, elsewhere on notice.
        env.tokens.invalidateAll()
        guard let organization else { throw Problems.notFound("the organization") }
        return try jsonResponse(organization)
    }

    func listUsers(_ request: Request, _ context: CallerContext) async throws -> Response {
        let id = try context.uuid("id", what: "the organization")
        try check(Policy.listUsers(context.caller, organizationID: id), "the organization")
        let page = try PageRequest<String>.read(request)
        let users = try await env.store.transaction(as: context.caller) { tx -> [User]? in
            guard try await tx.organization(id: id) != nil else { return nil }
            return try await tx.users(organizationID: id, after: page.after, limit: page.fetchLimit)
        }
        guard let users else { throw Problems.notFound("the organization") }
        return try jsonResponse(page.page(users) { $0.email.lowercased() })
    }

    func createUser(_ request: Request, _ context: CallerContext) async throws -> Response {
        let organizationID = try context.uuid("id", what: "the organization")
        try check(Policy.createUser(context.caller, organizationID: organizationID), "the organization")
        let new = try await NewUser.read(request, limit: context.bodyLimit, caller: context.caller)
        let hash = try await env.passwords.hash(new.password)
        return try await mappingConflicts {
            try await env.store.answering(as: context.caller) { tx in
                guard let organization = try await tx.organization(id: organizationID) else { throw Problems.notFound("the organization") }
                try Self.checkRole(new.role, in: organization.kind)
                let user = try await tx.createUser(
                    organizationID: organizationID, email: new.email, displayName: new.displayName, role: new.role, passwordHash: hash)
                return try jsonResponse(user, status: .created)
            }
        }
    }

    func updateUser(_ request: Request, _ context: CallerContext) async throws -> Response {
        let caller = context.caller
        let id = try context.uuid("id", what: "the user")
        guard let target = try await env.store.transaction(as: caller, { try await $0.user(id: id) }) else {
            throw Problems.notFound("the user")
        }
        try check(Policy.readUser(caller, targetID: target.id, targetOrganizationID: target.organizationID), "the user")
        let permitted = Policy.updatableUserFields(caller, targetID: target.id, targetOrganizationID: target.organizationID, targetRole: target.role)
        if permitted.isEmpty { throw Problems.forbidden("you may not change this user") }
        let patch = try await UserPatch.read(request, limit: context.bodyLimit, permitted: permitted, caller: caller, target: target.id)
        if let current = patch.currentPassword {
            // Checked like a login: throttled per email and address, failures audited.
            let check = CredentialCheck(env: env)
            guard try await check.verify(email: target.email, password: current, address: context.request.clientAddress) != nil else {
                throw Problems.invalid("current_password", "is not your current password")
            }
            try await env.store.transaction(as: caller) {
                try await check.succeeded(email: target.email, address: context.request.clientAddress, in: $0)
            }
        }
        var changes = StoreTransaction.UserChanges(displayName: patch.displayName, role: patch.role, status: patch.status)
        if let password = patch.password { changes.passwordHash = try await env.passwords.hash(password) }
        let user = try await env.store.transaction(as: caller) { [changes] tx -> User? in
            if let role = changes.role, let organization = try await tx.organization(id: target.organizationID) {
                try Self.checkRole(role, in: organization.kind)
            }
            let leavesAdmins = (changes.role.map { $0 != .coalitionAdmin } ?? false) || changes.status == .disabled
            if target.role == .coalitionAdmin, target.status == .active, leavesAdmins, try await tx.otherActiveAdmins(than: target.id) == 0 {
                throw Problem(status: 409, title: "Conflict", detail: "the coalition's last active admin cannot be demoted or disabled; appoint another admin first",
                              type: Problems.conflictType)
            }
            return try await tx.updateUser(id: id, changes)
        }
        env.tokens.invalidateAll()
        guard let user else { throw Problems.notFound("the user") }
        return try jsonResponse(user)
    }

    /// A user's role must suit its organization's kind (no auditor in a member organization).
    static func checkRole(_ role: Role, in kind: OrganizationKind) throws {
        guard Role.allowed(in: kind).contains(role) else {
            throw Problems.invalid("role", "a user of a \(kind.rawValue) organization cannot be \(role.rawValue)")
        }
    }

    func listTokens(_ request: Request, _ context: CallerContext) async throws -> Response {
        let id = try context.uuid("id", what: "the organization")
        try check(Policy.manageOrganizationTokens(context.caller, organizationID: id, mutating: false), "the organization")
        let page = try PageRequest<UUID>.read(request)
        let tokens = try await env.store.transaction(as: context.caller) {
            try await $0.organizationTokens(organization: id, after: page.after, limit: page.fetchLimit)
        }
        return try jsonResponse(page.page(tokens) { $0.id })
    }

    func revokeToken(_ context: CallerContext) async throws -> Response {
        let id = try context.uuid("id", what: "the organization")
        let tokenID = try context.uuid("token_id", what: "the token")
        try check(Policy.manageOrganizationTokens(context.caller, organizationID: id, mutating: true), "the organization")
        guard let token = try await env.store.transaction(as: context.caller, { try await $0.revokeOrganizationToken(organization: id, id: tokenID) }) else {
            throw Problems.notFound("the token")
        }
        env.tokens.invalidateAll()
        return try jsonResponse(token)
    }
}
