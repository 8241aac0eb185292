import CoalitionStore
import Foundation
import Logging
import PQ
import ServiceLifecycle
import Synchronization

/// What the server remembers of recently presented tokens: key id → the token's record (its
/// secret's hash, grant, user and organization state), for a few seconds, so that a request
/// does not need a query to know its caller.
///
/// It is trusted only while `TokenCacheService` listens on `coalition_auth`: every change that
/// ends or narrows a grant notifies there when it commits, and each notification empties the
/// cache. While nobody listens (starting, database away) every lookup goes to the database.
/// The server that makes such a change also empties its own cache before it answers
/// (`invalidateAll`), not waiting for its notification to come round.
///
/// Bounded: at most `capacity` tokens; a full cache drops its expired entries, then all.
public final class TokenCache: Sendable {
    public let lifetime: Duration
    public let capacity: Int

    private struct Entry {
        var record: TokenRecord
        var loadedAt: ContinuousClock.Instant
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Bumped by each invalidation: a lookup that started before one does not store its
        /// (possibly stale) result.
        var generation = 0
        var listening = false
        /// Tokens whose `last_used_at` is due (older than a minute), written in the background.
        var touches: Set<UUID> = []
    }

    private let state = Mutex(State())

    public init(lifetime: Duration, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The record of `keyID`: from memory when it is fresh and the cache is trusted, else from
    /// `load` (stored for next time when nothing was invalidated meanwhile).
    public func record(keyID: String, load: () async throws -> TokenRecord?) async throws -> TokenRecord? {
        let now = ContinuousClock.now
        let (cached, generation): (TokenRecord?, Int?) = state.withLock { s in
            guard s.listening, lifetime > .zero else { return (nil, nil) }
            if let entry = s.entries[keyID], now - entry.loadedAt < lifetime { return (entry.record, nil) }
            return (nil, s.generation)
        }
        if let cached { return cached }
        guard let record = try await load() else { return nil }
        if let generation {
            state.withLock { s in
                guard s.listening, s.generation == generation else { return }
                if s.entries.count >= capacity {
                    s.entries = s.entries.filter { now - $0.value.loadedAt < lifetime }
                    if s.entries.count >= capacity { s.entries.removeAll(keepingCapacity: true) }
                }
                s.entries[keyID] = Entry(record: record, loadedAt: now)
            }
        }
        return record
    }

    /// Notes a use of `record`: its `last_used_at` is queued for writing when it is more than a
    /// minute old, once per minute (the cached copy is moved on so that the next uses do not
    /// queue it again).
    public func noteUse(of record: TokenRecord, keyID: String, now: Date = Date()) {
        guard record.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true else { return }
        state.withLock { s in
            s.touches.insert(record.tokenID)
            s.entries[keyID]?.record.lastUsedAt = now
        }
    }

    /// The tokens whose use is to be written, taken out of the queue.
    public func takeTouches() -> [UUID] {
        state.withLock { s in
            defer { s.touches.removeAll() }
            return Array(s.touches)
        }
    }

    /// Forgets every token: after a change of grants here, or a notification of one elsewhere.
    public func invalidateAll() {
        state.withLock { s in
            s.entries.removeAll()
            s.generation += 1
        }
    }

    /// Whether invalidations are heard, so that entries may be trusted. Either way the cache
    /// starts empty.
    func setListening(_ listening: Bool) {
        state.withLock { s in
            s.listening = listening
            s.entries.removeAll()
            s.generation += 1
        }
    }

    public var isListening: Bool { state.withLock { $0.listening } }
    public var count: Int { state.withLock { $0.entries.count } }
}

/// Keeps the token cache honest and writes token use off the request path: LISTENs on
/// `coalition_auth` on a connection of its own (reconnecting after a second when it breaks,
/// with the cache bypassed meanwhile) and writes queued `last_used_at` values once a second.
struct TokenCacheService: Service {
    let cache: TokenCache
    let store: Store
    let conninfo: String
    let settings: SessionSettings
    let logger: Logger

    static let channel = "coalition_auth"

    func run() async throws {
        // Both end at graceful shutdown, or at once on cancellation.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listen() }
                group.addTask { await writeTouches() }
            }
        }
        await flushTouches()
    }

    private func listen() async {
        var failing = false
        while !Task.isCancelled {
            do {
                let connection = try await Connection.connect(
                    to: conninfo, settings: settings, id: -1, logger: logger)
                try await connection.executeScript("LISTEN \(Self.channel)")
                cache.setListening(true)
                if failing { logger.info("listening for token changes again; the token cache is back") }
                failing = false
                while true {
                    _ = try await connection.notifications()
                    cache.invalidateAll()
                }
            } catch {
                cache.setListening(false)
                if Task.isCancelled { return }
                if !failing {
                    logger.warning("not listening for token changes; every request asks the database until it is back",
                                   metadata: ["error": "\(error)"])
                }
                failing = true
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func writeTouches() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            await flushTouches()
        }
    }

    private func flushTouches() async {
        let due = cache.takeTouches()
        guard !due.isEmpty else { return }
        do {
            try await store.withoutCaller { try await $0.touchTokens(ids: due) }
        } catch {
            // Last use is advisory: a failed write is retried with the next use a minute on.
            logger.debug("writing token use failed", metadata: ["error": "\(error)", "tokens": "\(due.count)"])
        }
    }
}
