import Foundation

/// The outcome of an access check. `hidden` answers 404 so that existence does not leak;
/// `forbidden` answers 403 for something the caller can see but may not do.
public enum Access: Sendable, Equatable {
    case allowed
    case forbidden(String)
    case hidden
}

/// Who may do what (SPEC §2), as pure functions of the actor and the target. The API asks these
/// before touching data; row-level security enforces the same rules again in PostgreSQL.
public enum Policy {
    /// A mutation needs an actor with a `write` token; anonymous callers are sent to log in by
    /// the API before this is asked.
    static func writable(_ actor: Actor) -> Access? {
        actor.canWrite ? nil : .forbidden("this token has the read scope only")
    }

    // MARK: organizations

    public static func readOrganization(_ actor: Actor, _ organizationID: UUID) -> Access {
        actor.role.readsEverything || actor.organizationID == organizationID ? .allowed : .hidden
    }

    /// Listing all organizations: admins and auditors see all, members their own only.
    public static func listsAllOrganizations(_ actor: Actor) -> Bool { actor.role.readsEverything }

    public static func createOrganization(_ actor: Actor) -> Access {
        if let denied = writable(actor) { return denied }
        return actor.role == .coalitionAdmin ? .allowed : .forbidden("only coalition admins create organizations")
    }

    public static func updateOrganization(_ actor: Actor, _ organizationID: UUID) -> Access {
        let read = readOrganization(actor, organizationID)
        guard read == .allowed else { return read }
        if let denied = writable(actor) { return denied }
        return actor.role == .coalitionAdmin ? .allowed : .forbidden("only coalition admins change organizations")
    }

    // MARK: users

    /// Listing an organization's users: coalition admins and auditors for any organization,
    /// a member admin for its own; other members of that organization get 403.
    public static func listUsers(_ actor: Actor, organizationID: UUID) -> Access {
        let read = readOrganization(actor, organizationID)
        guard read == .allowed else { return read }
        if actor.role.readsEverything || actor.role == .memberAdmin { return .allowed }
        return .forbidden("only member admins list their organization's users")
    }

    /// Creating a user with `role` in an organization of `kind`.
    public static func createUser(_ actor: Actor, organizationID: UUID) -> Access {
        let read = readOrganization(actor, organizationID)
        guard read == .allowed else { return read }
        if let denied = writable(actor) { return denied }
        switch actor.role {
        case .coalitionAdmin: return .allowed
        case .memberAdmin where actor.organizationID == organizationID: return .allowed
        default: return .forbidden("only coalition admins and the organization's member admins create users")
        }
    }

    /// May `actor` give the role `role` to a user? Member admins hand out member roles only.
    public static func assignRole(_ actor: Actor, _ role: Role) -> Bool {
        actor.role == .coalitionAdmin || (actor.role == .memberAdmin && Role.memberRoles.contains(role))
    }

    /// The user fields `actor` may change on `target` (a user it can see). Users change their
    /// own display name and password; member admins also role and status within their
    /// organization; coalition admins everything.
    public static func updatableUserFields(_ actor: Actor, targetID: UUID, targetOrganizationID: UUID, targetRole: Role) -> Set<String> {
        var fields: Set<String> = []
        if targetID == actor.userID { fields.formUnion(["display_name", "password"]) }
        switch actor.role {
        case .coalitionAdmin:
            fields.formUnion(["display_name", "password", "role", "status"])
        // A member admin manages its organization's member users, not an auditor the
        // coalition appointed in a partner organization.
        case .memberAdmin where targetOrganizationID == actor.organizationID && Role.memberRoles.contains(targetRole):
            fields.formUnion(["display_name", "password", "role", "status"])
        default:
            break
        }
        if targetID == actor.userID && actor.role != .coalitionAdmin {
            // No one demotes or disables themselves into a locked-out organization by accident,
            // and no member admin raises itself: role and status of oneself are an admin's call.
            fields.subtract(["role", "status"])
        }
        return fields
    }

    public static func readUser(_ actor: Actor, targetID: UUID, targetOrganizationID: UUID) -> Access {
        if actor.role.readsEverything || targetID == actor.userID || targetOrganizationID == actor.organizationID {
            return .allowed
        }
        return .hidden
    }

    /// An organization's tokens: coalition admins for any, member admins for their own.
    public static func manageOrganizationTokens(_ actor: Actor, organizationID: UUID, mutating: Bool) -> Access {
        let read = readOrganization(actor, organizationID)
        guard read == .allowed else { return read }
        if mutating, let denied = writable(actor) { return denied }
        if actor.role == .coalitionAdmin || (actor.role == .memberAdmin && actor.organizationID == organizationID) { return .allowed }
        return .forbidden("only coalition admins and the organization's member admins manage its tokens")
    }

    // MARK: audit

    public static func readAudit(_ actor: Actor) -> Access {
        actor.role.readsEverything ? .allowed : .forbidden("only coalition admins and auditors read the audit log")
    }
}

// MARK: projects, milestones, submissions

extension Policy {
    /// Projects: admins and auditors see all; members the projects they take part in.
    public static func readProject(_ actor: Actor, participates: Bool) -> Access {
        actor.role.readsEverything || participates ? .allowed : .hidden
    }

    /// Creating and changing projects and their participants: coalition admins.
    public static func manageProject(_ actor: Actor, participates: Bool) -> Access {
        let read = readProject(actor, participates: participates)
        guard read == .allowed else { return read }
        if let denied = writable(actor) { return denied }
        return actor.role == .coalitionAdmin ? .allowed : .forbidden("only coalition admins change projects")
    }

    public static func createProject(_ actor: Actor) -> Access {
        if let denied = writable(actor) { return denied }
        return actor.role == .coalitionAdmin ? .allowed : .forbidden("only coalition admins create projects")
    }

    /// Milestones: coalition admins, and member admins of the project's lead organization.
    public static func manageMilestones(_ actor: Actor, participates: Bool, leadOrganizationID: UUID) -> Access {
        let read = readProject(actor, participates: participates)
        guard read == .allowed else { return read }
        if let denied = writable(actor) { return denied }
        if actor.role == .coalitionAdmin || (actor.role == .memberAdmin && actor.organizationID == leadOrganizationID) { return .allowed }
        return .forbidden("only coalition admins and member admins of the lead organization manage milestones")
    }

    /// Submitting progress: member admins and editors of a participating member organization
    /// (a partner co-issues standards but does not report progress).
    public static func submit(_ actor: Actor, participates: Bool, organizationKind: OrganizationKind) -> Access {
        let read = readProject(actor, participates: participates)
        guard read == .allowed else { return read }
        if let denied = writable(actor) { return denied }
        guard organizationKind == .member else { return .forbidden("only member organizations report progress") }
        guard participates else { return .forbidden("only organizations taking part in the project submit progress") }
        return actor.role == .memberAdmin || actor.role == .memberEditor
            ? .allowed : .forbidden("only member admins and editors submit progress")
    }

    /// An action on a submission the actor can see.
    public static func act(_ actor: Actor, _ action: SubmissionAction, submitterOrganizationID: UUID) -> Access {
        if let denied = writable(actor) { return denied }
        switch action {
        case .approve, .reject:
            return actor.role == .coalitionAdmin ? .allowed : .forbidden("only coalition admins review submissions")
        case .verify:
            return actor.role == .auditor ? .allowed : .forbidden("only auditors verify submissions")
        case .withdraw:
            return (actor.role == .memberAdmin || actor.role == .memberEditor) && actor.organizationID == submitterOrganizationID
                ? .allowed : .forbidden("only the submitting organization's admins and editors withdraw a submission")
        }
    }
}

// MARK: standards

extension Policy {
    /// Editors of a standard's drafts: coalition admins, and member admins and editors of an
    /// issuing organization.
    public static func editStandard(_ actor: Actor, isIssuer: Bool) -> Access {
        if let denied = writable(actor) { return denied }
        if actor.role == .coalitionAdmin { return .allowed }
        if (actor.role == .memberAdmin || actor.role == .memberEditor) && isIssuer { return .allowed }
        return .forbidden("only coalition admins and editors of an issuing organization edit this standard")
    }

    public static func createStandard(_ actor: Actor) -> Access {
        if let denied = writable(actor) { return denied }
        return actor.role == .coalitionAdmin || actor.role == .memberAdmin || actor.role == .memberEditor
            ? .allowed : .forbidden("only coalition admins and member admins or editors create standards")
    }

    /// Reviews, publication and withdrawal: coalition admins.
    public static func governStandard(_ actor: Actor) -> Access {
        if let denied = writable(actor) { return denied }
        return actor.role == .coalitionAdmin ? .allowed : .forbidden("only coalition admins review, publish or withdraw standards")
    }

    public static func adopt(_ actor: Actor) -> Access {
        if let denied = writable(actor) { return denied }
        return actor.role == .memberAdmin || actor.role == .memberEditor
            ? .allowed : .forbidden("only member admins and editors declare adoptions for their organization")
    }
}
