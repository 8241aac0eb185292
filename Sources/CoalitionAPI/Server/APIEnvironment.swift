import CoalitionDomain
import CoalitionStore
import PQ

/// What the routes share: the store, password hashing and the settings.
public struct APIEnvironment: Sendable {
    public let store: Store
    public let passwords: PasswordHasher
    public let settings: ServerSettings
    public let migrator: Migrator
    /// Recently presented tokens, so that most requests need no query to know their caller.
    public let tokens: TokenCache

    public init(store: Store, passwords: PasswordHasher, settings: ServerSettings, migrator: Migrator) {
        self.tokens = TokenCache(lifetime: .seconds(settings.authCacheSeconds))
        self.store = store
        self.passwords = passwords
        self.settings = settings
        self.migrator = migrator
    }
}
