import Foundation
import PQ
import Testing

@Suite("PQ: libpq layer against a real PostgreSQL")
struct PQTests {
    @Test func bindAndDecodeRoundTripEveryType() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool()) { (pool: ConnectionPool) async throws in
            let id = UUID()
            let when = Date(timeIntervalSince1970: 1_690_000_000.123456)
            let day = PQDate(year: 2023, month: 7, day: 1)!
            let exact = Decimal(string: "12345678901234.567890")!
            let json = PQJSON(text: #"{"a": [1, "x"]}"#)
            let bytes = PQBytes([0, 1, 2, 255, 0])
            let rows = try await pool.query("""
                SELECT \("héllo, 世界 ✓") AS s, \("") AS empty, \(Int.max) AS i, \(Int64.min) AS i64, \(Int32(-7)) AS i32,
                       \(true) AS b, \(1.5) AS d, \(exact) AS n, (\(exact) = 12345678901234.567890) AS n_same, \(id) AS u, \(day) AS day,
                       \(when) AS ts, \(json) AS j, \(bytes) AS bin, \(["a", "b,c", "d\"e", "f\\g", "", "NULL"]) AS strings,
                       \([1, 2, 3]) AS ints, \([id]) AS uuids, \(String?.none) AS null_text, \(Int?.none) AS null_int
                """)
            let row = try #require(rows.firstRow)
            #expect(try row.decode("s", as: String.self) == "héllo, 世界 ✓")
            #expect(try row.decode("empty", as: String.self) == "")
            #expect(try row.decode("i", as: Int.self) == Int.max)
            #expect(try row.decode("i64", as: Int64.self) == Int64.min)
            #expect(try row.decode("i32", as: Int32.self) == -7)
            #expect(try row.decode("b", as: Bool.self) == true)
            #expect(try row.decode("d", as: Double.self) == 1.5)
            #expect(try row.decode("n", as: Decimal.self) == exact)
            #expect(try row.decode("n_same", as: Bool.self), "the numeric the server stored equals the literal")
            #expect(try row.decode("u", as: UUID.self) == id)
            #expect(try row.decode("day", as: PQDate.self) == day)
            #expect(try row.decode("ts", as: Date.self).timeIntervalSince1970 == when.timeIntervalSince1970)
            #expect(try row.decode("j", as: PQJSON.self).text == #"{"a": [1, "x"]}"#)
            #expect(try row.decode("bin", as: PQBytes.self) == bytes)
            #expect(try row.decode("strings", as: [String].self) == ["a", "b,c", "d\"e", "f\\g", "", "NULL"])
            #expect(try row.decode("ints", as: [Int].self) == [1, 2, 3])
            #expect(try row.decode("uuids", as: [UUID].self) == [id])
            #expect(try row.decode("null_text", as: String?.self) == nil)
            #expect(try row.decode("null_int", as: Int?.self) == nil)
            #expect(try row.decode("s", as: String?.self) == "héllo, 世界 ✓")
        }
    }

    @Test func decimalPrecisionIsExactThroughNumeric() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool()) { (pool: ConnectionPool) async throws in
            for text in ["12345678901234.567890", "0.1", "-0.000000000000000001", "99999999999999999999", "619944", "21.6"] {
                let value = Decimal(string: text)!
                let row = try #require(try await pool.query("SELECT \(value)::numeric AS n, (\(value)::numeric = \(text)::numeric) AS same").firstRow)
                #expect(try row.decode("n", as: Decimal.self) == value, "\(text)")
                #expect(try row.decode("same", as: Bool.self), "\(text) changed on the way")
            }
            // 0.1 + 0.2 is exactly 0.3 in numeric, unlike in binary floating point.
            let sum = try await pool.query("SELECT \(Decimal(string: "0.1")!) + \(Decimal(string: "0.2")!) AS s")[0].decode("s", as: Decimal.self)
            #expect(sum == Decimal(string: "0.3")!)
        }
    }

    @Test func doubleSpecialValuesRoundTrip() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool()) { (pool: ConnectionPool) async throws in
            let row = try await pool.query("SELECT \(Double.nan) AS a, \(Double.infinity) AS b, \(-Double.infinity) AS c, \(0.1) AS d")[0]
            #expect(try row.decode("a", as: Double.self).isNaN)
            #expect(try row.decode("b", as: Double.self) == .infinity)
            #expect(try row.decode("c", as: Double.self) == -.infinity)
            #expect(try row.decode("d", as: Double.self) == 0.1)
        }
    }

    @Test func typeMismatchAndUnexpectedNullNameTheColumn() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool()) { (pool: ConnectionPool) async throws in
            let row = try await pool.query("SELECT 'abc'::text AS label, NULL::int AS missing")[0]
            let mismatch = #expect(throws: PQError.self) { try row.decode("label", as: Int.self) }
            #expect(mismatch?.kind == .typeMismatch)
            #expect(mismatch?.column == "label")
            #expect(mismatch?.message.contains("label") == true)
            let null = #expect(throws: PQError.self) { try row.decode("missing", as: Int.self) }
            #expect(null?.kind == .unexpectedNull)
            #expect(null?.message.contains("missing") == true)
            let absent = #expect(throws: PQError.self) { try row.decode("nope", as: Int.self) }
            #expect(absent?.kind == .missingColumn)
        }
    }

    @Test func textParameterWithNulByteIsRefused() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool()) { (pool: ConnectionPool) async throws in
            let error = await #expect(throws: PQError.self) { try await pool.query("SELECT \("a\u{0}b") AS s") }
            #expect(error?.kind == .invalidValue)
        }
    }

    @Test func hundredThousandRowResultDecodes() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool()) { (pool: ConnectionPool) async throws in
            let rows = try await pool.query("SELECT g AS n, 'row ' || g AS label FROM generate_series(1, 100000) g")
            #expect(rows.count == 100_000)
            var sum = 0
            for row in rows { sum += try row.decode("n", as: Int.self) }
            #expect(sum == 100_000 * 100_001 / 2)
            #expect(try rows[99_999].decode("label", as: String.self) == "row 100000")
        }
    }

    @Test func copyStreamsHundredThousandRows() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.ownerPool()) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { (conn: Connection) async throws in
                try await conn.executeScript("CREATE TABLE copied (id bigint PRIMARY KEY, label text, amount numeric)")
                let chunks = AsyncStream<[UInt8]> { continuation in
                    var chunk: [UInt8] = []
                    for i in 1...100_000 {
                        chunk += Array("\(i),\"label, \(i)\",\(i).5\n".utf8)
                        if chunk.count > 64 * 1024 {
                            continuation.yield(chunk)
                            chunk.removeAll(keepingCapacity: true)
                        }
                    }
                    continuation.yield(chunk)
                    continuation.finish()
                }
                let copied = try await conn.copyIn("COPY copied (id, label, amount) FROM STDIN (FORMAT csv)", from: chunks)
                #expect(copied == 100_000)
                let row = try await conn.query("SELECT count(*) AS c, sum(amount) AS s FROM copied")[0]
                #expect(try row.decode("c", as: Int.self) == 100_000)
                #expect(try row.decode("s", as: Decimal.self) == Decimal(string: "5000100000")!)
            }
        }
    }

    struct SourceFailed: Error {}

    @Test func copyAbortedBySourceStoresNothingAndConnectionStaysUsable() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.ownerPool(size: 1)) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { (conn: Connection) async throws in
                try await conn.executeScript("CREATE TABLE copied (id bigint)")
                let chunks = AsyncThrowingStream<[UInt8], any Error> { continuation in
                    continuation.yield(Array("1\n2\n".utf8))
                    continuation.finish(throwing: SourceFailed())
                }
                await #expect(throws: SourceFailed.self) { _ = try await conn.copyIn("COPY copied FROM STDIN", from: chunks) }
            }
            #expect(try await pool.query("SELECT count(*) AS c FROM copied")[0].decode("c", as: Int.self) == 0)
        }
    }

    @Test func sqlStatesAreMappedWithConstraintAndTableAndNoValues() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.ownerPool()) { (pool: ConnectionPool) async throws in
            try await pool.query("""
                CREATE TABLE parent (id int PRIMARY KEY);
                """)
            try await pool.withConnection { (conn: Connection) async throws in
                try await conn.executeScript("""
                    CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id),
                                        email text UNIQUE, qty int CONSTRAINT qty_positive CHECK (qty > 0))
                    """)
            }
            let secret = "secret-value@example.org"
            try await pool.query("INSERT INTO child (id, email) VALUES (1, \(secret))")
            let unique = await #expect(throws: PQError.self) { try await pool.query("INSERT INTO child (id, email) VALUES (2, \(secret))") }
            #expect(unique?.condition == .uniqueViolation)
            #expect(unique?.constraint == "child_email_key")
            #expect(unique?.table == "child")
            #expect(unique?.description.contains(secret) == false)
            let check = await #expect(throws: PQError.self) { try await pool.query("INSERT INTO child (id, qty) VALUES (3, \(-5))") }
            #expect(check?.condition == .checkViolation)
            #expect(check?.constraint == "qty_positive")
            let foreign = await #expect(throws: PQError.self) { try await pool.query("INSERT INTO child (id, parent_id) VALUES (4, \(42))") }
            #expect(foreign?.condition == .foreignKeyViolation)
            #expect(foreign?.constraint == "child_parent_id_fkey")
            let badInput = await #expect(throws: PQError.self) { try await pool.query("SELECT \("not-a-number-\(secret)")::int") }
            #expect(badInput?.condition == .invalidTextRepresentation)
            #expect(badInput?.description.contains(secret) == false)
        }
    }

    actor Barrier {
        var arrived = 0
        var attempts = 0
        func attempt() { attempts += 1 }
        func arriveAndWait(parties: Int) async {
            arrived += 1
            while arrived < parties { await Task.yield(); try? await Task.sleep(for: .milliseconds(5)) }
        }
    }

    @Test func serializationFailureIsRetriedAndSucceeds() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.ownerPool(size: 2)) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { try await $0.executeScript("CREATE TABLE ledger (who text, total int)") }
            let barrier = Barrier()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for who in ["a", "b"] {
                    group.addTask {
                        try await pool.transaction(isolation: .serializable) { tx in
                            await barrier.attempt()
                            let total = try await tx.query("SELECT coalesce(sum(total), 0) AS t FROM ledger")[0].decode("t", as: Int.self)
                            // Both first attempts read before either writes: a write skew that
                            // serializable isolation must refuse for one of them.
                            await barrier.arriveAndWait(parties: 2)
                            try await tx.execute("INSERT INTO ledger VALUES (\(who), \(total + 1))")
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(await barrier.attempts >= 3, "one transaction must have been retried")
            let totals = try await pool.query("SELECT total FROM ledger ORDER BY total").map { try $0.decode("total", as: Int.self) }
            #expect(totals == [1, 2])
        }
    }

    @Test func commitAfterSwallowedErrorFails() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.ownerPool(size: 1)) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { try await $0.executeScript("CREATE TABLE t (id int PRIMARY KEY)") }
            await #expect(throws: PQError.self) {
                try await pool.transaction { tx in
                    try await tx.execute("INSERT INTO t VALUES (1)")
                    _ = try? await tx.execute("INSERT INTO t VALUES (1)")
                }
            }
            #expect(try await pool.query("SELECT count(*) AS c FROM t")[0].decode("c", as: Int.self) == 0)
        }
    }

    @Test func poolExhaustionFailsWithTimeoutInsteadOfHanging() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool(size: 1, acquireTimeout: .milliseconds(300))) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { _ in
                let started = ContinuousClock.now
                let error = await #expect(throws: PQError.self) { try await pool.query("SELECT 1") }
                #expect(error?.kind == .poolTimeout)
                #expect(ContinuousClock.now - started < .seconds(10), "a 300 ms acquire timeout fails promptly, not after a hang")
                #expect(await pool.statistics.waiting == 0)
            }
            // The lease came back: the pool serves again.
            try await pool.ping()
            let stats = await pool.statistics
            #expect(stats.inUse == 0 && stats.idle == 1 && stats.waiting == 0)
        }
    }

    @Test func terminatedConnectionIsReplacedOnNextLease() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool(size: 1)) { (pool: ConnectionPool) async throws in
            let pid = try await pool.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int.self)
            try await withSuperuserConnection { (conn: Connection) async throws in
                _ = try await conn.query("SELECT pg_terminate_backend(\(pid)::int)")
                // Wait until the backend is gone, so the idle connection has been told.
                for _ in 0..<200 {
                    let left = try await conn.query("SELECT count(*) AS c FROM pg_stat_activity WHERE pid = \(pid)::int")[0].decode("c", as: Int.self)
                    if left == 0 { break }
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            let newPid = try await pool.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int.self)
            #expect(newPid != pid)
        }
    }

    @Test func cancellingTheTaskCancelsTheRunningQuery() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool(size: 1)) { (pool: ConnectionPool) async throws in
            let started = ContinuousClock.now
            let task = Task { try await pool.query("SELECT pg_sleep(30)") }
            try await Task.sleep(for: .milliseconds(300))
            task.cancel()
            let result = await task.result
            #expect(ContinuousClock.now - started < .seconds(10))
            guard case .failure(let error) = result, let pqError = error as? PQError else {
                Issue.record("the query was not cancelled: \(result)")
                return
            }
            #expect(pqError.kind == .cancelled)
            // The same (single) connection is usable afterwards.
            #expect(try await pool.query("SELECT 7 AS v")[0].decode("v", as: Int.self) == 7)
        }
    }

    @Test func statementTimeoutStopsLongStatements() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool(size: 1, statementTimeoutMilliseconds: 200)) { (pool: ConnectionPool) async throws in
            let error = await #expect(throws: PQError.self) { try await pool.query("SELECT pg_sleep(5)") }
            #expect(error?.condition == .queryCanceled)
            try await pool.ping()
        }
    }

    @Test func malformedConnectionStringIsRefusedWithoutThePassword() async throws {
        let error = #expect(throws: PQError.self) { try ConnectionString.validate("host=localhost password=hunter2secret port") }
        #expect(error?.kind == .invalidConnectionString)
        #expect(error?.description.contains("hunter2secret") == false)
        let uri = #expect(throws: PQError.self) { try ConnectionString.validate("postgresql://u:pw-s3cret@host:notaport/db?bogus=1") }
        #expect(uri?.kind == .invalidConnectionString)
        #expect(uri?.description.contains("pw-s3cret") == false)
        try ConnectionString.validate("")
        try ConnectionString.validate("postgresql://u:p@localhost:5432/db?sslmode=disable")
    }

    @Test func wrongPasswordIsAConnectionErrorWithoutThePassword() async throws {
        let url = "postgresql://coalition_app:wrong-pass-xyz@\(try TestEnvironment.host):\(try TestEnvironment.port)/postgres"
        let pool = ConnectionPool(PoolConfiguration(conninfo: url, maximumConnections: 1), logger: TestEnvironment.logger)
        try await TestDatabase.using(pool) { (pool: ConnectionPool) async throws in
            let error = await #expect(throws: PQError.self) { try await pool.ping() }
            #expect(error?.kind == .connection)
            #expect(error?.message.contains("password authentication failed") == true)
            #expect(error?.description.contains("wrong-pass-xyz") == false)
        }
    }

    @Test func leaseLeftInsideATransactionIsRolledBack() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.ownerPool(size: 1)) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { try await $0.executeScript("CREATE TABLE t (id int)") }
            try await pool.withConnection { (conn: Connection) async throws in
                try await conn.executeScript("BEGIN")
                try await conn.execute("INSERT INTO t VALUES (1)")
            }
            #expect(try await pool.query("SELECT count(*) AS c FROM t")[0].decode("c", as: Int.self) == 0)
        }
    }

    @Test func aPipelineTakesOneFlightAndItsFailureUndoesIt() async throws {
        let db = try await TestDatabase.migrated()
        let pool = try db.appPool(size: 1)
        try await TestDatabase.using(pool) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { conn in
                try await conn.executeScript("CREATE TEMP TABLE t (n int PRIMARY KEY)")
                let before = pool.roundTrips.count
                let results = try await conn.pipeline(["INSERT INTO t VALUES (1)", "SELECT count(*) AS n FROM t", "SELECT 'x' AS s"])
                #expect(pool.roundTrips.count - before == 1)
                #expect(try results[1][0].decode("n", as: Int.self) == 1)
                #expect(try results[2][0].decode("s", as: String.self) == "x")
                // Outside a transaction block a pipeline is one implicit transaction: the
                // failing second insert undoes the first.
                await #expect(throws: PQError.self) { try await conn.pipeline(["INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (1)"]) }
                #expect(try await conn.query("SELECT count(*) AS n FROM t")[0].decode("n", as: Int.self) == 1)
            }
        }
    }

    @Test func aTransactionSendsBeginWithItsFirstStatementAndMayCommitWithItsLast() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool(size: 1)) { (pool: ConnectionPool) async throws in
            try await pool.withConnection { conn in
                try await conn.executeScript("CREATE TEMP TABLE t (n int)")
                let before = pool.roundTrips.count
                try await conn.transaction(setup: "SELECT set_config('pq.test', 'inside', true)") { tx in
                    #expect(try await tx.query("SELECT current_setting('pq.test') AS v")[0].decode("v", as: String.self) == "inside")
                    _ = try await tx.queryAndCommit("INSERT INTO t VALUES (1)")
                    await #expect(throws: PQError.self, "nothing runs after the final statement") { try await tx.query("SELECT 1") }
                }
                #expect(pool.roundTrips.count - before == 2, "BEGIN + setup + SELECT, then INSERT + COMMIT")
                #expect(try await conn.query("SELECT count(*) AS n, current_setting('pq.test', true) AS v FROM t")[0].decode("n", as: Int.self) == 1)
                // A transaction that sends nothing costs nothing.
                let idle = pool.roundTrips.count
                try await conn.transaction { _ in }
                #expect(pool.roundTrips.count == idle)
                // A failing final statement leaves the transaction to roll back, and the
                // connection fit for the next one.
                await #expect(throws: PQError.self) {
                    try await conn.transaction { tx in
                        _ = try await tx.query("INSERT INTO t VALUES (2)")
                        _ = try await tx.queryAndCommit("INSERT INTO t VALUES ('not a number')")
                    }
                }
                #expect(try await conn.query("SELECT count(*) AS n FROM t")[0].decode("n", as: Int.self) == 1)
            }
        }
    }

    @Test func notificationsArriveOnAListeningConnectionAndTheWaitEndsWithItsTask() async throws {
        let db = try await TestDatabase.migrated()
        let listener = try await Connection.connect(to: try db.appURL)
        try await listener.executeScript("LISTEN pq_test")
        try await TestDatabase.using(try db.appPool(size: 1)) { (pool: ConnectionPool) async throws in
            let waiting = Task { try await listener.notifications() }
            try await Task.sleep(for: .milliseconds(100))
            try await pool.query("SELECT pg_notify('pq_test', 'hello')")
            #expect(try await waiting.value == [PQNotification(channel: "pq_test", payload: "hello")])
            let cancelled = Task { try await listener.notifications() }
            try await Task.sleep(for: .milliseconds(100))
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }
            // Still listening after the cancelled wait.
            try await pool.query("SELECT pg_notify('pq_test', 'again')")
            #expect(try await listener.notifications().map(\.payload) == ["again"])
        }
    }

    @Test func aReadingScopeSendsItsSetupAheadOfEachFlightWithoutATransactionBlock() async throws {
        let db = try await TestDatabase.migrated()
        try await TestDatabase.using(try db.appPool(size: 1)) { (pool: ConnectionPool) async throws in
            let setup: SQL = "SELECT set_config('pq.test', \("reading"), true), set_config('transaction_read_only', 'on', true)"
            try await pool.reading(setup: setup) { conn in
                let before = pool.roundTrips.count
                for _ in 0..<2 {
                    #expect(try await conn.query("SELECT current_setting('pq.test') AS v")[0].decode("v", as: String.self) == "reading")
                }
                #expect(pool.roundTrips.count - before == 2, "one flight per statement, the setup riding along")
                #expect(!conn.inTransaction)
                do {
                    try await conn.query("CREATE TEMP TABLE t (n int)")
                    Issue.record("a reading scope wrote")
                } catch let error as PQError {
                    #expect(error.sqlState == "25006", "read-only transaction: \(error)")
                }
            }
            // Outside the scope the setting is gone: it lived in each flight's implicit transaction.
            #expect(try await pool.query("SELECT current_setting('pq.test', true) AS v")[0].decode("v", as: String?.self) ?? "" == "")
        }
    }

    @Test func statementsWithParametersArePreparedOncePerConnectionUnlessTurnedOff() async throws {
        let db = try await TestDatabase.migrated()
        for prepares in [true, false] {
            let pool = ConnectionPool(PoolConfiguration(
                conninfo: try db.appURL, maximumConnections: 1, session: SessionSettings(preparesStatements: prepares), metricsLabel: "prepare-\(prepares)"))
            try await TestDatabase.using(pool) { (pool: ConnectionPool) async throws in
                try await pool.withConnection { conn in
                    for n in 1...3 {
                        #expect(try await conn.query("SELECT \(n) + 1 AS m")[0].decode("m", as: Int.self) == n + 1)
                    }
                    // The same new text twice in one flight is prepared once.
                    let twice = try await conn.pipeline(["SELECT \(7) * 2 AS m", "SELECT \(8) * 2 AS m"])
                    #expect(try twice.map { try $0[0].decode("m", as: Int.self) } == [14, 16])
                    // A failing statement prepared in a flight is not taken for prepared later.
                    await #expect(throws: PQError.self) { try await conn.query("SELECT 1 / \(0) AS boom") }
                    #expect(try await conn.query("SELECT 1 / \(1) AS ok")[0].decode("ok", as: Int.self) == 1)
                    let names = try await conn.query("SELECT count(*) AS n FROM pg_prepared_statements")[0].decode("n", as: Int.self)
                    #expect(names == (prepares ? 4 : 0), "statements with parameters: + 1, * 2, 1 / $1 (prepared, then failed), count")
                    // A connection keeps at most 256 names; further texts still run, unnamed.
                    for n in 0..<260 {
                        #expect(try await conn.query("SELECT \(n) + \(unescaped: String(n)) AS m")[0].decode("m", as: Int.self) == 2 * n)
                    }
                    let kept = try await conn.query("SELECT count(*) AS n FROM pg_prepared_statements")[0].decode("n", as: Int.self)
                    #expect(kept == (prepares ? 256 : 0))
                }
            }
        }
    }
}
