import CoalitionModels

extension Role {
    /// Roles whose holders read across organizations.
    public var readsEverything: Bool { self == .coalitionAdmin || self == .auditor }

    /// Roles a member or partner organization's users may hold.
    public static let memberRoles: Set<Role> = [.memberAdmin, .memberEditor, .memberViewer]

    /// Member admins and editors: the roles that write for their organization (submissions,
    /// drafts of standards it issues, adoptions).
    public var editsForOrganization: Bool { self == .memberAdmin || self == .memberEditor }
    /// A user of a member (or partner) organization, who works for it rather than the coalition.
    public var isMember: Bool { Self.memberRoles.contains(self) }

    /// Which roles a user of an organization of `kind` may hold.
    public static func allowed(in kind: OrganizationKind) -> Set<Role> {
        switch kind {
        case .secretariat: [.coalitionAdmin, .auditor]
        case .partner: memberRoles.union([.auditor])
        case .member: memberRoles
        }
    }
}
