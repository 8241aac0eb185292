import CoalitionStore
import Foundation
import Synchronization

/// The facts of milestones that organizations of this server's callers were allowed to submit
/// to (`MilestoneFacts`: project, metric unit and aggregation, which never change), so that the
/// next submission of the same organization is judged by `SubmissionRules` before anything is
/// sent and stored in one round trip (`submitKnown`).
///
/// Kept per milestone *and* organization: an organization takes the one-flight way only to a
/// milestone the policy has let it submit to, so how long a refusal takes says nothing of
/// milestones it cannot see. Nothing here decides: the one statement checks visibility and
/// participation again, and a submission it does not store takes the usual way (read, judge,
/// store). Bounded: at most `capacity` pairs; a full memory starts over.
public final class KnownMilestones: Sendable {
    public let capacity: Int

    private struct Key: Hashable {
        var milestone: UUID
        var organization: UUID
    }

    private let facts = Mutex<[Key: MilestoneFacts]>([:])

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    public subscript(milestone: UUID, of organization: UUID) -> MilestoneFacts? {
        facts.withLock { $0[Key(milestone: milestone, organization: organization)] }
    }

    public func remember(_ known: MilestoneFacts, of milestone: UUID, for organization: UUID) {
        let key = Key(milestone: milestone, organization: organization)
        facts.withLock { facts in
            if facts.count >= capacity, facts[key] == nil { facts.removeAll(keepingCapacity: true) }
            facts[key] = known
        }
    }

    public var count: Int { facts.withLock { $0.count } }
}
