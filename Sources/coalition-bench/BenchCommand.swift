import ArgumentParser
import Foundation
import PQ

/// Drives the database layer for `scripts/bench-db`, which runs pgbench and `psql \copy` on
/// the same tables in the same run and prints the ratios.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coalition-bench", abstract: "Benchmarks of the PQ layer (used by scripts/bench-db).",
        subcommands: [Inserts.self, Copy.self])
}

struct Inserts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Insert transactions (BEGIN; INSERT; COMMIT, one flight) through the pool; prints transactions per second.")

    @Option var conninfo: String
    @Option var tasks: Int
    @Option var seconds: Double = 10

    func run() async throws {
        let pool = ConnectionPool(PoolConfiguration(conninfo: conninfo, maximumConnections: tasks, acquireTimeout: .seconds(30)))
        try await pool.ping()
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let start = ContinuousClock.now
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<tasks {
                group.addTask {
                    var done = 0
                    while ContinuousClock.now < deadline {
                        // BEGIN, the insert and COMMIT: one flight (lazy BEGIN, the COMMIT riding along).
                        try await pool.transaction { tx in
                            try await tx.queryAndCommit("""
                                INSERT INTO bench_events (worker, amount, note) VALUES (\(worker), \(Int.random(in: 1...100_000)), \("bench"))
                                """)
                        }
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        await pool.close()
        print(String(format: "%.1f", Double(total) / secs))
    }
}

struct Copy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "COPY a CSV file into a table through copyIn; prints seconds.")

    @Option var conninfo: String
    @Option var file: String
    @Option var table: String

    func run() async throws {
        let pool = ConnectionPool(PoolConfiguration(conninfo: conninfo, maximumConnections: 1))
        guard let handle = FileHandle(forReadingAtPath: file) else { throw ValidationError("cannot open \(file)") }
        let chunks = AsyncStream<[UInt8]> { continuation in
            while true {
                let data = handle.readData(ofLength: 256 * 1024)
                if data.isEmpty { break }
                continuation.yield([UInt8](data))
            }
            continuation.finish()
        }
        let start = ContinuousClock.now
        let rows = try await pool.withConnection { conn in
            try await conn.copyIn("COPY \(table) FROM STDIN (FORMAT csv)", from: chunks)
        }
        let elapsed = ContinuousClock.now - start
        await pool.close()
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "%d %.3f", rows, secs))
    }
}
