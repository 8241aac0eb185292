/// The roles of SPEC §2. Anonymous callers have no role (`Actor?` is nil).
public enum Role: String, Sendable, CaseIterable, Codable {
    case coalitionAdmin = "coalition_admin"
    case auditor
    case memberAdmin = "member_admin"
    case memberEditor = "member_editor"
    case memberViewer = "member_viewer"

    /// Roles whose holders read across organizations.
    public var readsEverything: Bool { self == .coalitionAdmin || self == .auditor }

    /// Roles a member or partner organization's users may hold.
    public static let memberRoles: Set<Role> = [.memberAdmin, .memberEditor, .memberViewer]

    /// Which roles a user of an organization of `kind` may hold.
    public static func allowed(in kind: OrganizationKind) -> Set<Role> {
        switch kind {
        case .secretariat: [.coalitionAdmin, .auditor]
        case .partner: memberRoles.union([.auditor])
        case .member: memberRoles
        }
    }
}

/// Kinds of organization (SPEC §1).
public enum OrganizationKind: String, Sendable, CaseIterable, Codable {
    case secretariat, member, partner
}

public enum OrganizationStatus: String, Sendable, CaseIterable, Codable {
    case active, suspended, withdrawn
}

public enum UserStatus: String, Sendable, CaseIterable, Codable {
    case active, disabled
}

/// What an API token may do: `read` tokens get 403 on every mutation.
public enum TokenScope: String, Sendable, CaseIterable, Codable, Comparable {
    case read, write
    public static func < (a: TokenScope, b: TokenScope) -> Bool { a.rawValue < b.rawValue }
}
