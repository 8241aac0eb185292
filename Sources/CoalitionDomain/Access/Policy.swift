import CoalitionModels
import Foundation

/// The outcome of an access check. `hidden` answers 404 so that existence does not leak;
/// `forbidden` answers 403 for something the caller can see but may not do.
public enum Access: Sendable, Equatable {
    case allowed
    case forbidden(String)
    case hidden
}

/// Who may do what (SPEC §2), as pure functions of the caller and the target. The API asks these
/// before touching data; row-level security enforces the same rules again in PostgreSQL.
public enum Policy {
    /// A mutation needs a caller with a `write` token; anonymous callers are sent to log in by
    /// the API before this is asked.
    static func writable(_ caller: Caller) -> Access? {
        caller.canWrite ? nil : .forbidden("this token has the read scope only")
    }

    // MARK: organizations

    public static func readOrganization(_ caller: Caller, _ organizationID: UUID) -> Access {
        caller.role.readsEverything || caller.organizationID == organizationID ? .allowed : .hidden
    }

    /// Listing all organizations: admins and auditors see all, members their own only.
    public static func listsAllOrganizations(_ caller: Caller) -> Bool { caller.role.readsEverything }

    public static func createOrganization(_ caller: Caller) -> Access {
        if let denied = writable(caller) { return denied }
        return caller.role == .coalitionAdmin ? .allowed : .forbidden("only coalition admins create organizations")
    }

    public static func updateOrganization(_ caller: Caller, _ organizationID: UUID) -> Access {
        let read = readOrganization(caller, organizationID)
        guard read == .allowed else { return read }
        if let denied = writable(caller) { return denied }
        return caller.role == .coalitionAdmin ? .allowed : .forbidden("only coalition admins change organizations")
    }

    // MARK: users

    /// Listing an organization's users: coalition admins and auditors for any organization,
    /// a member admin for its own; other members of that organization get 403.
    public static func listUsers(_ caller: Caller, organizationID: UUID) -> Access {
        let read = readOrganization(caller, organizationID)
        guard read == .allowed else { return read }
        if caller.role.readsEverything || caller.role == .memberAdmin { return .allowed }
        return .forbidden("only member admins list their organization's users")
    }

    /// Creating a user with `role` in an organization of `kind`.
    public static func createUser(_ caller: Caller, organizationID: UUID) -> Access {
        let read = readOrganization(caller, organizationID)
        guard read == .allowed else { return read }
        if let denied = writable(caller) { return denied }
        switch caller.role {
        case .coalitionAdmin: return .allowed
        case .memberAdmin where caller.organizationID == organizationID: return .allowed
        default: return .forbidden("only coalition admins and the organization's member admins create users")
        }
    }

    /// May `caller` give the role `role` to a user? Member admins hand out member roles only.
    public static func assignRole(_ caller: Caller, _ role: Role) -> Bool {
        caller.role == .coalitionAdmin || (caller.role == .memberAdmin && Role.memberRoles.contains(role))
    }

    /// The user fields `caller` may change on `target` (a user it can see). Users change their
    /// own display name and password; member admins also role and status within their
    /// organization; coalition admins everything.
    public static func updatableUserFields(_ caller: Caller, targetID: UUID, targetOrganizationID: UUID, targetRole: Role) -> Set<String> {
        var fields: Set<String> = []
        if targetID == caller.userID { fields.formUnion(["display_name", "password"]) }
        switch caller.role {
        case .coalitionAdmin:
            fields.formUnion(["display_name", "password", "role", "status"])
        // A member admin manages its organization's member users, not an auditor the
        // coalition appointed in a partner organization.
        case .memberAdmin where targetOrganizationID == caller.organizationID && Role.memberRoles.contains(targetRole):
            fields.formUnion(["display_name", "password", "role", "status"])
        default:
            break
        }
        if targetID == caller.userID && caller.role != .coalitionAdmin {
            // No one demotes or disables themselves into a locked-out organization by accident,
            // and no member admin raises itself: role and status of oneself are an admin's call.
            fields.subtract(["role", "status"])
        }
        return fields
    }

    public static func readUser(_ caller: Caller, targetID: UUID, targetOrganizationID: UUID) -> Access {
        if caller.role.readsEverything || targetID == caller.userID || targetOrganizationID == caller.organizationID {
            return .allowed
        }
        return .hidden
    }

    /// An organization's tokens: coalition admins for any, member admins for their own.
    public static func manageOrganizationTokens(_ caller: Caller, organizationID: UUID, mutating: Bool) -> Access {
        let read = readOrganization(caller, organizationID)
        guard read == .allowed else { return read }
        if mutating, let denied = writable(caller) { return denied }
        if caller.role == .coalitionAdmin || (caller.role == .memberAdmin && caller.organizationID == organizationID) { return .allowed }
        return .forbidden("only coalition admins and the organization's member admins manage its tokens")
    }

    // MARK: audit

    public static func readAudit(_ caller: Caller) -> Access {
        caller.role.readsEverything ? .allowed : .forbidden("only coalition admins and auditors read the audit log")
    }
}

// MARK: projects, milestones, submissions

extension Policy {
    /// Projects: admins and auditors see all; members the projects they take part in.
    public static func readProject(_ caller: Caller, participates: Bool) -> Access {
        caller.role.readsEverything || participates ? .allowed : .hidden
    }

    /// Creating and changing projects and their participants: coalition admins.
    public static func manageProject(_ caller: Caller, participates: Bool) -> Access {
        let read = readProject(caller, participates: participates)
        guard read == .allowed else { return read }
        if let denied = writable(caller) { return denied }
        return caller.role == .coalitionAdmin ? .allowed : .forbidden("only coalition admins change projects")
    }

    public static func createProject(_ caller: Caller) -> Access {
        if let denied = writable(caller) { return denied }
        return caller.role == .coalitionAdmin ? .allowed : .forbidden("only coalition admins create projects")
    }

    /// Milestones: coalition admins, and member admins of the project's lead organization.
    public static func manageMilestones(_ caller: Caller, participates: Bool, leadOrganizationID: UUID) -> Access {
        let read = readProject(caller, participates: participates)
        guard read == .allowed else { return read }
        if let denied = writable(caller) { return denied }
        if caller.role == .coalitionAdmin || (caller.role == .memberAdmin && caller.organizationID == leadOrganizationID) { return .allowed }
        return .forbidden("only coalition admins and member admins of the lead organization manage milestones")
    }

    /// Submitting progress: member admins and editors of a participating member organization
    /// (a partner co-issues standards but does not report progress).
    public static func submit(_ caller: Caller, participates: Bool, organizationKind: OrganizationKind) -> Access {
        let read = readProject(caller, participates: participates)
        guard read == .allowed else { return read }
        if let denied = writable(caller) { return denied }
        guard organizationKind == .member else { return .forbidden("only member organizations report progress") }
        guard participates else { return .forbidden("only organizations taking part in the project submit progress") }
        return caller.role == .memberAdmin || caller.role == .memberEditor
            ? .allowed : .forbidden("only member admins and editors submit progress")
    }

    /// Reporting progress for one's organization, asked before anything about the report:
    /// member admins and editors.
    public static func reportProgress(_ caller: Caller) -> Access {
        caller.role.editsForOrganization ? .allowed : .forbidden("only member admins and editors submit progress")
    }

    /// The queue of submissions across organizations that waits for a decision: the roles that
    /// decide (coalition admins review, auditors verify).
    public static func reviewQueue(_ caller: Caller) -> Access {
        caller.role.readsEverything ? .allowed : .forbidden("only coalition admins and auditors use the review queue")
    }

    /// An action on a submission the caller can see.
    public static func act(_ caller: Caller, _ action: SubmissionAction, submitterOrganizationID: UUID) -> Access {
        if let denied = writable(caller) { return denied }
        switch action {
        case .approve, .reject:
            return caller.role == .coalitionAdmin ? .allowed : .forbidden("only coalition admins review submissions")
        case .verify:
            return caller.role == .auditor ? .allowed : .forbidden("only auditors verify submissions")
        case .withdraw:
            return (caller.role == .memberAdmin || caller.role == .memberEditor) && caller.organizationID == submitterOrganizationID
                ? .allowed : .forbidden("only the submitting organization's admins and editors withdraw a submission")
        }
    }
}

// MARK: standards

extension Policy {
    /// Editors of a standard's drafts: coalition admins, and member admins and editors of an
    /// issuing organization.
    public static func editStandard(_ caller: Caller, isIssuer: Bool) -> Access {
        if let denied = writable(caller) { return denied }
        if caller.role == .coalitionAdmin { return .allowed }
        if (caller.role == .memberAdmin || caller.role == .memberEditor) && isIssuer { return .allowed }
        return .forbidden("only coalition admins and editors of an issuing organization edit this standard")
    }

    public static func createStandard(_ caller: Caller) -> Access {
        if let denied = writable(caller) { return denied }
        return caller.role == .coalitionAdmin || caller.role == .memberAdmin || caller.role == .memberEditor
            ? .allowed : .forbidden("only coalition admins and member admins or editors create standards")
    }

    /// Reviews, publication and withdrawal: coalition admins.
    public static func governStandard(_ caller: Caller) -> Access {
        if let denied = writable(caller) { return denied }
        return caller.role == .coalitionAdmin ? .allowed : .forbidden("only coalition admins review, publish or withdraw standards")
    }

    public static func adopt(_ caller: Caller) -> Access {
        if let denied = writable(caller) { return denied }
        return caller.role == .memberAdmin || caller.role == .memberEditor
            ? .allowed : .forbidden("only member admins and editors declare adoptions for their organization")
    }
}

// MARK: the same questions, asked of a project as the store returns it

extension Policy {
    public static func readProject(_ caller: Caller, _ project: Project) -> Access {
        readProject(caller, participates: project.participants.contains(caller.organizationID))
    }

    public static func manageProject(_ caller: Caller, _ project: Project) -> Access {
        manageProject(caller, participates: project.participants.contains(caller.organizationID))
    }

    public static func manageMilestones(_ caller: Caller, _ project: Project) -> Access {
        manageMilestones(caller, participates: project.participants.contains(caller.organizationID), leadOrganizationID: project.leadOrganizationID)
    }
}
