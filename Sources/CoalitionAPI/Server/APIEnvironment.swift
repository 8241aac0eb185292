import CoalitionDomain
import CoalitionStore
import PQ
import Synchronization

/// What the routes share: the store, password hashing and the settings.
public struct APIEnvironment: Sendable {
    public let store: Store
    public let passwords: PasswordHasher
    public let settings: ServerSettings
    public let migrator: Migrator
    /// Recently presented tokens, so that most requests need no query to know their caller.
    public let tokens: TokenCache
    /// The unchanging facts of milestones each organization submitted to: a submission in one flight.
    public let milestones = KnownMilestones()
    /// Set once SIGTERM has arrived: readiness then answers 503 while requests are still served.
    public let draining = Draining()

    public init(store: Store, passwords: PasswordHasher, settings: ServerSettings, migrator: Migrator) {
        self.tokens = TokenCache(lifetime: .seconds(settings.authCacheSeconds))
        self.store = store
        self.passwords = passwords
        self.settings = settings
        self.migrator = migrator
    }
}

/// Whether the server is on its way out (`COALITION_SHUTDOWN_DELAY_SECONDS`).
public final class Draining: Sendable {
    private let flag = Atomic(false)
    public init() {}
    public var isDraining: Bool { flag.load(ordering: .relaxed) }
    public func begin() { flag.store(true, ordering: .relaxed) }
}
