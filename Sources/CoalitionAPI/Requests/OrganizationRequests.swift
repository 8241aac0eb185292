import CoalitionDomain
import CoalitionModels
import CoalitionStore
import Foundation
import Hummingbird

/// `POST /v1/organizations`: `{slug, name, kind, sector?, joined_on?}`.
struct NewOrganization {
    var slug: String
    var name: String
    var kind: OrganizationKind
    var sector: String
    var joinedOn: CalendarDate?

    static func read(_ request: Request, limit: Int) async throws -> NewOrganization {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["slug", "name", "kind", "sector", "joined_on"])
        let slug = body.string("slug", required: true, check: Validate.slug)
        let name = body.string("name", required: true) { Validate.text($0, Limits.organizationName) }
        let kind = body.enumeration("kind", OrganizationKind.self, required: true)
        let sector = body.string("sector") { Validate.text($0, Limits.sector) } ?? ""
        let joinedOn = body.date("joined_on")
        let (s, n, k) = try body.finish(slug, name, kind)
        return NewOrganization(slug: s, name: n, kind: k, sector: sector, joinedOn: joinedOn)
    }
}

extension StoreTransaction.OrganizationChanges {
    /// `PATCH /v1/organizations/{id}`: any of `{name, sector, status}`.
    static func read(_ request: Request, limit: Int) async throws -> Self {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["name", "sector", "status"])
        let changes = Self(
            name: body.string("name") { Validate.text($0, Limits.organizationName) },
            sector: body.string("sector") { Validate.text($0, Limits.sector) },
            status: body.enumeration("status", OrganizationStatus.self))
        body.requireSomeField()
        try body.finish()
        return changes
    }
}

/// `POST /v1/organizations/{id}/users`: `{email, display_name, role, password}`; a member
/// admin hands out member roles only.
struct NewUser {
    var email: String
    var displayName: String
    var role: Role
    var password: String

    static func read(_ request: Request, limit: Int, caller: Caller) async throws -> NewUser {
        var body = try await JSONBody.read(request, limit: limit, allowed: ["email", "display_name", "role", "password"])
        let email = body.string("email", required: true, check: Validate.email)
        let displayName = body.string("display_name", required: true) { Validate.text($0, Limits.displayName) }
        let role = body.enumeration("role", Role.self, required: true)
        let password = body.string("password", required: true, check: Validate.password)
        if let role { body.checkAssignable(role, by: caller) }
        let (e, d, r, p) = try body.finish(email, displayName, role, password)
        return NewUser(email: e, displayName: d, role: r, password: p)
    }
}

/// `PATCH /v1/users/{id}`: any of `{display_name, role, status, password}` that the caller may
/// change on this user (`permitted`, from the policy); the new password in clear, to hash.
/// Changing one's own password takes `current_password` too, so that a stolen session token
/// cannot take the account over; an admin resetting someone else's does not.
struct UserPatch {
    var displayName: String?
    var role: Role?
    var status: UserStatus?
    var password: String?
    var currentPassword: String?

    static let fields: Set<String> = ["display_name", "role", "status", "password"]

    static func read(_ request: Request, limit: Int, permitted: Set<String>, caller: Caller, target: UUID) async throws -> UserPatch {
        var body = try await JSONBody.read(request, limit: limit, allowed: fields.union(["current_password"]))
        for field in body.keys.sorted() where fields.contains(field) && !permitted.contains(field) {
            body.fail(field, "you may not change this field")
        }
        let patch = UserPatch(
            displayName: body.string("display_name") { Validate.text($0, Limits.displayName) },
            role: body.enumeration("role", Role.self), status: body.enumeration("status", UserStatus.self),
            password: body.string("password", check: Validate.password),
            currentPassword: body.string("current_password") { $0.utf8.count <= 1024 ? nil : "is too long" })
        let ownPassword = target == caller.userID && body.has("password")
        if ownPassword, patch.currentPassword == nil { body.fail("current_password", "is required to change your own password") }
        if !ownPassword, body.has("current_password") { body.fail("current_password", "is only needed to change your own password") }
        if let role = patch.role { body.checkAssignable(role, by: caller) }
        body.requireSomeField()
        try body.finish()
        return patch
    }
}

extension JSONBody {
    /// A member admin hands out member roles only.
    mutating func checkAssignable(_ role: Role, by caller: Caller) {
        if !Policy.assignRole(caller, role) { fail("role", "a member admin may give only member_admin, member_editor or member_viewer") }
    }

    /// A PATCH must name something to change.
    mutating func requireSomeField() {
        if keys.isEmpty { fail("body", "names no field to change") }
    }
}
