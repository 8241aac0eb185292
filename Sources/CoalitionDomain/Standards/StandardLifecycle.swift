import CoalitionModels

extension StandardVersionStatus {
    /// A version still being worked on: at most one per standard.
    public var isOpen: Bool { self == .draft || self == .inReview || self == .approved }
}

/// The lifecycle of SPEC §1: draft → submit → in_review → (approvals ≥ quorum, no reject) →
/// approved → publish → published → withdraw → withdrawn; a reject returns the version to draft.
/// A new version of a published standard is worked on while the published one stays in force.
public struct StandardState: Sendable, Equatable {
    /// The latest version when it is open (draft, in review or approved), else nil.
    public var working: StandardVersionStatus?
    public var publishedVersion: Int?
    public var withdrawn: Bool

    public init(working: StandardVersionStatus?, publishedVersion: Int?, withdrawn: Bool) {
        self.working = working
        self.publishedVersion = publishedVersion
        self.withdrawn = withdrawn
    }

    /// The standard's own status as the API shows it.
    public var status: StandardStatus {
        if withdrawn { return .withdrawn }
        if publishedVersion != nil { return .published }
        switch working {
        case .inReview: return .inReview
        case .approved: return .approved
        default: return .draft
        }
    }

    public var allowedActions: [StandardAction] {
        if withdrawn { return [] }
        var actions: [StandardAction] = []
        switch working {
        case .draft: actions += [.newVersion, .submit]
        case .inReview: actions += [.review]
        case .approved: actions += [.publish]
        default: if publishedVersion != nil { actions += [.newVersion] }
        }
        if publishedVersion != nil { actions.append(.withdraw) }
        return actions
    }

    /// The 409 detail for an action that is not allowed now.
    public func refusal(_ action: StandardAction) -> String {
        let allowed = allowedActions.map(\.rawValue)
        let state = working.map { $0.rawValue == status.rawValue ? status.rawValue : "\(status.rawValue) (version in progress: \($0.rawValue))" } ?? status.rawValue
        return "cannot \(action.rawValue.replacingOccurrences(of: "_", with: " ")): the standard is \(state); allowed actions: \(allowed.isEmpty ? "none" : allowed.joined(separator: ", "))"
    }
}

/// The review ballot: approvals needed and the outcome of the votes cast.
public enum ReviewBallot {
    /// The configured quorum, never more than the active coalition admins, at least one.
    public static func quorum(configured: Int, activeAdmins: Int) -> Int {
        max(1, min(configured, activeAdmins))
    }

    public enum Outcome: Sendable, Equatable { case pending, approved, rejected }

    public static func outcome(approvals: Int, rejections: Int, quorum: Int) -> Outcome {
        if rejections > 0 { return .rejected }
        return approvals >= quorum ? .approved : .pending
    }
}
