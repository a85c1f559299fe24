import Foundation
import Testing

@testable import BoxOffice

/// What the pool guarantees, checked with each driver (DB_DRIVER): the
/// statement of a cancelled task is cancelled on the server and the session
/// serves again, the session timeouts apply, a backend that died is
/// replaced, both statement modes work, and a statement or an answer larger
/// than the socket's buffers goes through whole.
@Suite("The pool's drivers")
struct DatabaseDriverTests {
    private static func pool(
        _ database: TestDatabase, _ driver: Database.Driver, size: Int = 1, admin: Bool = false,
        timeouts: Database.Timeouts? = nil, prepared: Bool = true
    ) -> Database {
        Database(
            .init(
                conninfo: admin ? database.adminConninfo : database.apiConninfo, poolSize: size,
                acquireTimeout: .seconds(30), timeouts: timeouts, preparedStatements: prepared, driver: driver))
    }

    @Test(
        "a cancelled task cancels its statement on the server (57014), and the same session serves next",
        arguments: Database.Driver.allCases)
    func cancelledTask(driver: Database.Driver) async throws {
        let database = try await TestDatabase.create()
        let pool = Self.pool(database, driver)
        let pid = try await pool.query("select pg_backend_pid()::text").scalar
        let started = ContinuousClock.now
        let sleeper = Task { try await pool.query("select pg_sleep(60)") }
        // Cancel only once the statement really runs on the server.
        var running = false
        for _ in 0..<100 where !running {
            try await Task.sleep(for: .milliseconds(50))
            running = try database.scalar(
                "select count(*) from pg_stat_activity where pid = $1::integer and query = 'select pg_sleep(60)' and state = 'active'",
                [pid ?? "0"]) == "1"
        }
        #expect(running, "the statement was running when the task was cancelled")
        sleeper.cancel()
        let outcome = await sleeper.result
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(throws: PostgresError.self) { try outcome.get() }
        if case .failure(let error as PostgresError) = outcome {
            #expect(error.sqlstate == "57014")
        }
        #expect(try await pool.query("select pg_backend_pid()::text").scalar == pid, "the session was kept")
        await pool.shutdown()
    }

    @Test("statement_timeout ends a statement with 57014; the session serves next", arguments: Database.Driver.allCases)
    func statementTimeout(driver: Database.Driver) async throws {
        let database = try await TestDatabase.create()
        let timeouts = Database.Timeouts(statementSeconds: 1, lockSeconds: 1, idleInTransactionSeconds: 5)
        let pool = Self.pool(database, driver, timeouts: timeouts)
        await #expect {
            try await pool.query("select pg_sleep(10)")
        } throws: { error in
            (error as? PostgresError)?.sqlstate == "57014"
        }
        #expect(try await pool.query("select current_setting('statement_timeout')").scalar == "1s")
        await pool.shutdown()
    }

    @Test(
        "a backend terminated mid-statement fails that call only; the next one gets a new session",
        arguments: Database.Driver.allCases)
    func terminatedMidStatement(driver: Database.Driver) async throws {
        let database = try await TestDatabase.create()
        let pool = Self.pool(database, driver)
        let pid = try await pool.query("select pg_backend_pid()::text").scalar ?? "0"
        let sleeping = Task { try await pool.query("select pg_sleep(30)") }
        var killed = false
        for _ in 0..<100 where !killed {
            try await Task.sleep(for: .milliseconds(50))
            killed = try database.scalar(
                """
                select count(pg_terminate_backend(pid)) from pg_stat_activity
                where pid = $1::integer and query = 'select pg_sleep(30)' and state = 'active'
                """, [pid]) == "1"
        }
        #expect(killed)
        await #expect {
            try await sleeping.value
        } throws: { error in
            (error as? PostgresError)?.connectionLost == true || (error as? PostgresError)?.sqlstate == "57P01"
        }
        let next = try await pool.query("select pg_backend_pid()::text").scalar
        #expect(next != nil && next != pid)
        await pool.shutdown()
    }

    @Test("prepared mode prepares once per session; unprepared mode prepares nothing", arguments: Database.Driver.allCases)
    func statementModes(driver: Database.Driver) async throws {
        let database = try await TestDatabase.create()
        for prepared in [true, false] {
            let pool = Self.pool(database, driver, prepared: prepared)
            for i in 1...3 {
                #expect(try await pool.query("select $1::int + 1", [String(i)]).scalar == String(i + 1))
            }
            let names = try await pool.query("select count(*) from pg_prepared_statements").scalar
            #expect(names == (prepared ? "2" : "0"), "prepared: \(prepared)")
            await #expect {
                try await pool.query("select 1/$1::int", ["0"])
            } throws: { error in
                (error as? PostgresError)?.sqlstate == "22012"
            }
            #expect(try await pool.query("select 'again'").scalar == "again")
            await pool.shutdown()
        }
    }

    @Test("a parameter and an answer of 4 MB each go through whole", arguments: Database.Driver.allCases)
    func largeStatement(driver: Database.Driver) async throws {
        let database = try await TestDatabase.create()
        let pool = Self.pool(database, driver)
        let big = String(repeating: "abcdefgh", count: 512 * 1024)
        #expect(try await pool.query("select length($1)::text", [big]).scalar == String(big.utf8.count))
        #expect(try await pool.query("select repeat('abcdefgh', 512 * 1024)").scalar == big)
        await pool.shutdown()
    }

    @Test("300 tasks on 4 connections each get their own answer", arguments: Database.Driver.allCases)
    func manyTasks(driver: Database.Driver) async throws {
        let database = try await TestDatabase.create()
        let pool = Self.pool(database, driver, size: 4)
        // The callers on threads of their own: the rest of the suite's jobs
        // do not delay the pool's hand-overs (`OwnThreads`).
        let answers = try await withTaskExecutorPreference(OwnThreads.shared) {
            try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for i in 0..<300 {
                    group.addTask { (i, try await pool.query("select $1::text || '!'", [String(i)]).scalar) }
                }
                return try await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
            }
        }
        #expect(answers.count == 300)
        #expect(answers.allSatisfy { $0.1 == "\($0.0)!" })
        await pool.shutdown()
    }

    @Test("a transaction's body and a single statement share the pool's sessions", arguments: Database.Driver.allCases)
    func transactionsBeside(driver: Database.Driver) async throws {
        let database = try await TestDatabase.create()
        let pool = Self.pool(database, driver, size: 2, admin: true)
        try await pool.query("create table t (x int)")
        try await withTaskExecutorPreference(OwnThreads.shared) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<40 {
                    group.addTask { () async throws -> Void in
                        if i % 2 == 0 {
                            _ = try await pool.withRetryingTransaction {
                                try $0.execute("insert into t values ($1::int)", [String(i)])
                            }
                        } else {
                            _ = try await pool.query("insert into t values ($1::int)", [String(i)])
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        #expect(try await pool.query("select count(distinct x)::text from t").scalar == "40")
        await pool.shutdown()
    }
}

@Suite("The non-blocking driver's polling thread")
struct PollerTests {
    @Test("a pool shut down and then released writes nothing into descriptors opened after its poller closed its own")
    func noWriteAfterStop() async throws {
        let database = try await TestDatabase.create()
        var pool: Database? = Database(
            .init(conninfo: database.apiConninfo, poolSize: 1, acquireTimeout: .seconds(30), driver: .nonblocking))
        #expect(try await pool?.query("select 1").scalar == "1")
        await pool?.shutdown()
        try await Task.sleep(for: .milliseconds(200))  // the polling thread has ended
        // Take the lowest free descriptors, where the poller's wake-up pipe
        // and the pool's socket were, as socket pairs: a byte written into
        // either end of one can be read at the other.
        var pairs: [[Int32]] = []
        defer { for fd in pairs.joined() { close(fd) } }
        for _ in 0..<16 {
            var pair: [Int32] = [0, 0]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
            pairs.append(pair)
        }
        pool = nil  // stops the poller a second time
        try await Task.sleep(for: .milliseconds(100))
        var byte: UInt8 = 0
        let stray = pairs.joined().filter { recv($0, &byte, 1, Int32(MSG_DONTWAIT)) > 0 }
        #expect(stray.isEmpty, "no stray wake-up byte")
    }
}
