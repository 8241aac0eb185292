import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// `/v1/organizations`, their users, and `PATCH /v1/users/{id}`.
struct OrganizationRoutes {
    let env: APIEnvironment

    var endpoints: [Endpoint] {
        [
            Endpoint(method: .get, path: "/v1/organizations") { request, context in try await list(request, context) },
            Endpoint(method: .post, path: "/v1/organizations") { request, context in try await create(request, context) },
            Endpoint(method: .get, path: "/v1/organizations/{id}") { _, context in try await show(context) },
            Endpoint(method: .patch, path: "/v1/organizations/{id}") { request, context in try await update(request, context) },
            Endpoint(method: .get, path: "/v1/organizations/{id}/users") { request, context in try await listUsers(request, context) },
            Endpoint(method: .post, path: "/v1/organizations/{id}/users") { request, context in try await createUser(request, context) },
            Endpoint(method: .patch, path: "/v1/users/{id}") { request, context in try await updateUser(request, context) },
            Endpoint(method: .get, path: "/v1/organizations/{id}/tokens") { request, context in
                let actor = try context.requireActor()
                let id = try context.uuid("id", what: "the organization")
                try check(Policy.manageOrganizationTokens(actor, organizationID: id, mutating: false), "the organization")
                let page = try PageRequest(request)
                let after = try page.cursor.map { text in
                    guard let id = UUID(uuidString: text) else { throw Problems.invalid("cursor", "is not a cursor this server issued") }
                    return id
                }
                let tokens = try await env.store.transaction(as: actor) { try await $0.organizationTokens(organization: id, after: after, limit: page.fetchLimit) }
                return try jsonResponse(page.page(tokens) { $0.id.uuidString })
            },
            Endpoint(method: .delete, path: "/v1/organizations/{id}/tokens/{token_id}") { _, context in
                let actor = try context.requireActor()
                let id = try context.uuid("id", what: "the organization")
                let tokenID = try context.uuid("token_id", what: "the token")
                try check(Policy.manageOrganizationTokens(actor, organizationID: id, mutating: true), "the organization")
                guard let token = try await env.store.transaction(as: actor, { try await $0.revokeOrganizationToken(organization: id, id: tokenID) }) else {
                    throw Problems.notFound("the token")
                }
                return try jsonResponse(token)
            },
        ]
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let page = try PageRequest(request)
        let rows = try await env.store.transaction(as: actor) { try await $0.organizations(after: page.cursor, limit: page.fetchLimit) }
        return try jsonResponse(page.page(rows) { $0.slug })
    }

    func show(_ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let id = try context.uuid("id", what: "the organization")
        try check(Policy.readOrganization(actor, id), "the organization")
        guard let organization = try await env.store.transaction(as: actor, { try await $0.organization(id: id) }) else {
            throw Problems.notFound("the organization")
        }
        return try jsonResponse(organization)
    }

    func create(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try check(Policy.createOrganization(actor), "the organization")
        var body = try await JSONBody.read(request, context: context, allowed: ["slug", "name", "kind", "sector", "joined_on"])
        let slug = body.string("slug", required: true, check: Validate.slug)
        let name = body.string("name", required: true) { Validate.text($0, Limits.organizationName) }
        let kind = body.enumeration("kind", OrganizationKind.self, required: true)
        let sector = body.string("sector") { Validate.text($0, Limits.sector) } ?? ""
        let joinedOn = body.date("joined_on")
        try body.finish()
        let organization = try await mappingConflicts {
            try await env.store.transaction(as: actor) { tx in
                try await tx.createOrganization(slug: slug!, name: name!, kind: kind!, sector: sector, joinedOn: joinedOn)
            }
        }
        return try jsonResponse(organization, status: .created, headers: [.location: "/v1/organizations/\(organization.id.uuidString.lowercased())"])
    }

    func update(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let id = try context.uuid("id", what: "the organization")
        try check(Policy.updateOrganization(actor, id), "the organization")
        var body = try await JSONBody.read(request, context: context, allowed: ["name", "sector", "status"])
        var changes = StoreTransaction.OrganizationChanges()
        changes.name = body.string("name") { Validate.text($0, Limits.organizationName) }
        changes.sector = body.string("sector") { Validate.text($0, Limits.sector) }
        changes.status = body.enumeration("status", OrganizationStatus.self)
        if body.keys.isEmpty { body.fail("body", "names no field to change") }
        try body.finish()
        guard let organization = try await env.store.transaction(as: actor, { try await $0.updateOrganization(id: id, changes) }) else {
            throw Problems.notFound("the organization")
        }
        return try jsonResponse(organization)
    }

    func listUsers(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let id = try context.uuid("id", what: "the organization")
        try check(Policy.listUsers(actor, organizationID: id), "the organization")
        let page = try PageRequest(request)
        let users = try await env.store.transaction(as: actor) { tx -> [User]? in
            guard try await tx.organization(id: id) != nil else { return nil }
            return try await tx.users(organizationID: id, after: page.cursor, limit: page.fetchLimit)
        }
        guard let users else { throw Problems.notFound("the organization") }
        return try jsonResponse(page.page(users) { $0.email.lowercased() })
    }

    func createUser(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let organizationID = try context.uuid("id", what: "the organization")
        try check(Policy.createUser(actor, organizationID: organizationID), "the organization")
        var body = try await JSONBody.read(request, context: context, allowed: ["email", "display_name", "role", "password"])
        let email = body.string("email", required: true, check: Validate.email)
        let displayName = body.string("display_name", required: true) { Validate.text($0, Limits.displayName) }
        let role = body.enumeration("role", Role.self, required: true)
        let password = body.string("password", required: true, check: Validate.password)
        if let role, !Policy.assignRole(actor, role) {
            body.fail("role", "a member admin may give only member_admin, member_editor or member_viewer")
        }
        try body.finish()
        let hash = try await env.passwords.hash(password!)
        let user = try await mappingConflicts {
            try await env.store.transaction(as: actor) { tx -> User in
                guard let organization = try await tx.organization(id: organizationID) else { throw Problems.notFound("the organization") }
                let kind = OrganizationKind(rawValue: organization.kind) ?? .member
                guard Role.allowed(in: kind).contains(role!) else {
                    throw Problems.invalid("role", "a user of a \(kind.rawValue) organization cannot be \(role!.rawValue)")
                }
                return try await tx.createUser(organizationID: organizationID, email: email!, displayName: displayName!, role: role!, passwordHash: hash)
            }
        }
        return try jsonResponse(user, status: .created)
    }

    func updateUser(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let id = try context.uuid("id", what: "the user")
        guard let target = try await env.store.transaction(as: actor, { try await $0.user(id: id) }) else {
            throw Problems.notFound("the user")
        }
        try check(Policy.readUser(actor, targetID: target.id, targetOrganizationID: target.organizationID), "the user")
        if !actor.canWrite { throw Problems.forbidden("this token has the read scope only") }
        var body = try await JSONBody.read(request, context: context, allowed: ["display_name", "role", "status", "password"])
        let permitted = Policy.updatableUserFields(
            actor, targetID: target.id, targetOrganizationID: target.organizationID, targetRole: Role(rawValue: target.role) ?? .memberViewer)
        if permitted.isEmpty { throw Problems.forbidden("you may not change this user") }
        for field in body.keys.sorted() where !permitted.contains(field) && ["display_name", "role", "status", "password"].contains(field) {
            body.fail(field, "you may not change this field")
        }
        var changes = StoreTransaction.UserChanges()
        changes.displayName = body.string("display_name") { Validate.text($0, Limits.displayName) }
        changes.role = body.enumeration("role", Role.self)
        changes.status = body.enumeration("status", UserStatus.self)
        let password = body.string("password", check: Validate.password)
        if let role = changes.role, !Policy.assignRole(actor, role) {
            body.fail("role", "a member admin may give only member_admin, member_editor or member_viewer")
        }
        if body.keys.isEmpty { body.fail("body", "names no field to change") }
        try body.finish()
        if let password { changes.passwordHash = try await env.passwords.hash(password) }
        let user = try await env.store.transaction(as: actor) { tx -> User? in
            if let role = changes.role, let organization = try await tx.organization(id: target.organizationID) {
                let kind = OrganizationKind(rawValue: organization.kind) ?? .member
                guard Role.allowed(in: kind).contains(role) else {
                    throw Problems.invalid("role", "a user of a \(kind.rawValue) organization cannot be \(role.rawValue)")
                }
            }
            return try await tx.updateUser(id: id, changes)
        }
        guard let user else { throw Problems.notFound("the user") }
        return try jsonResponse(user)
    }
}
