// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "coalition",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "coalition-server", targets: ["coalition-server"]),
        .executable(name: "coalition", targets: ["coalition"]),
    ],
    dependencies: [
        // Traits named explicitly: SwiftPM otherwise re-plans Hummingbird's default traits between
        // debug/release and build/test and recompiles it each time.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // The system libpq; only PQ imports it.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // glibc's <malloc.h> (mallopt), for the CLI's constant-memory upload.
        .systemLibrary(name: "CMalloc"),
        // Swift over libpq: connections, pool, binds/decoding, COPY, typed errors.
        .target(
            name: "PQ",
            dependencies: [
                "CLibPQ",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        // Codable wire types shared by the server and the client; no I/O.
        .target(name: "CoalitionModels", swiftSettings: swiftSettings),
        // Pure rules: policy, lifecycles, units, submission and bulk rules, settings; no I/O.
        .target(name: "CoalitionDomain", dependencies: ["CoalitionModels"], swiftSettings: swiftSettings),
        // SQL per aggregate, the migrator, schema status.
        .target(
            name: "CoalitionStore",
            dependencies: [
                "PQ", "CoalitionDomain", "CoalitionModels",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTTP: routes, middleware, problem+json, metrics.
        .target(
            name: "CoalitionAPI",
            dependencies: [
                "CoalitionStore", "CoalitionDomain", "CoalitionModels", "PQ",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            // The API description and the console's templates and assets, in the binary so that
            // the server stays one file.
            resources: [
                .embedInCode("OpenAPI/openapi.yaml"),
                .embedInCode("Console/Templates/layout.mustache"),
                .embedInCode("Console/Templates/login.mustache"),
                .embedInCode("Console/Templates/dashboard.mustache"),
                .embedInCode("Console/Templates/message.mustache"),
                .embedInCode("Console/Templates/standards.mustache"),
                .embedInCode("Console/Templates/standard.mustache"),
                .embedInCode("Console/Templates/submissions.mustache"),
                .embedInCode("Console/Templates/projects.mustache"),
                .embedInCode("Console/Templates/project.mustache"),
                .embedInCode("Console/Templates/organizations.mustache"),
                .embedInCode("Console/Templates/organization.mustache"),
                .embedInCode("Console/Templates/audit.mustache"),
                .embedInCode("Console/Assets/console.css"),
                .embedInCode("Console/Assets/icon.svg"),
                .embedInCode("Console/Assets/console.js"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "coalition-server",
            dependencies: [
                "CoalitionAPI", "CoalitionStore", "PQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTTP client of the API; never links libpq.
        .target(
            name: "CoalitionClient",
            dependencies: [
                "CoalitionModels",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "coalition",
            dependencies: [
                "CoalitionClient", "CoalitionModels", "CoalitionDomain", "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Drives the PQ layer for scripts/bench-db; not a product.
        .executableTarget(
            name: "coalition-bench",
            dependencies: ["PQ", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CoalitionTests",
            dependencies: [
                "PQ", "CoalitionStore", "CoalitionDomain", "CoalitionModels", "CoalitionAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
