import CoalitionStore
import Foundation
import Synchronization

/// The facts of milestones this server has seen a submission to (`MilestoneFacts`: project,
/// metric unit and aggregation, which never change), so that the next submission is judged by
/// `SubmissionRules` before anything is sent and stored in one round trip (`submitKnown`).
///
/// Nothing here decides who may see or submit to a milestone: the one statement checks that
/// again, and a submission it does not store takes the usual way (read, judge, store).
/// Bounded: at most `capacity` milestones; a full memory starts over.
public final class KnownMilestones: Sendable {
    public let capacity: Int
    private let facts = Mutex<[UUID: MilestoneFacts]>([:])

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    public subscript(milestone: UUID) -> MilestoneFacts? {
        facts.withLock { $0[milestone] }
    }

    public func remember(_ known: MilestoneFacts, of milestone: UUID) {
        facts.withLock { facts in
            if facts.count >= capacity, facts[milestone] == nil { facts.removeAll(keepingCapacity: true) }
            facts[milestone] = known
        }
    }

    public var count: Int { facts.withLock { $0.count } }
}
