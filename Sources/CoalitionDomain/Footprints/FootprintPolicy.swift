import CoalitionModels
import Foundation

// MARK: product footprints and PACT clients

extension Policy {
    /// Drafting and publishing footprints of one's own organization's goods: member admins and
    /// editors (partners and the secretariat sell no goods).
    public static func declareFootprint(_ caller: Caller) -> Access {
        if let denied = writable(caller) { return denied }
        return caller.role.editsForOrganization
            ? .allowed : .forbidden("only member admins and editors declare their organization's product footprints")
    }

    /// Publishing a draft the caller can see: its organization's admins and editors.
    public static func publishFootprint(_ caller: Caller, organizationID: UUID) -> Access {
        if let denied = declareFootprint(caller).forbiddenOnly { return denied }
        return caller.organizationID == organizationID
            ? .allowed : .forbidden("only the declaring organization's admins and editors publish its footprints")
    }

    /// Registering a PACT client (a data recipient): coalition admins for the coalition or any
    /// organization; a member admin for its own organization's customers.
    public static func registerPACTClient(_ caller: Caller, organizationID: UUID?) -> Access {
        if let denied = writable(caller) { return denied }
        if caller.role == .coalitionAdmin { return .allowed }
        if caller.role == .memberAdmin {
            return organizationID == caller.organizationID
                ? .allowed : .forbidden("a member admin registers clients of its own organization only (organization_id)")
        }
        return .forbidden("only coalition admins and member admins register PACT clients")
    }

    /// Listing PACT clients: those who may register them (row-level security narrows a member
    /// admin's list to its organization).
    public static func listPACTClients(_ caller: Caller) -> Access {
        caller.role == .coalitionAdmin || caller.role == .memberAdmin
            ? .allowed : .forbidden("only coalition admins and member admins manage PACT clients")
    }
}

extension Access {
    /// The refusal, when it is one.
    var forbiddenOnly: Access? { self == .allowed ? nil : self }
}
