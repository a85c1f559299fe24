import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import BoxOffice

@Suite("The libpq pool")
struct DatabasePoolTests {
    @Test("50 concurrent tasks share 8 connections and all succeed")
    func fiftyTasksOnEight() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.apiConninfo, poolSize: 8, acquireTimeout: .seconds(30)))
        // The callers on threads of their own (`OwnThreads`).
        let pids = try await withTaskExecutorPreference(OwnThreads.shared) {
            try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        try await pool.query("select pg_backend_pid()::text || ':' || $1 from pg_sleep(0.02)", [String(i)]).scalar ?? ""
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
        }
        await pool.shutdown()
        #expect(pids.count == 50)
        #expect(Set(pids.map { $0.split(separator: ":")[1] }).count == 50)
        let backends = Set(pids.map { $0.split(separator: ":")[0] })
        #expect(backends.count <= 8)
        #expect(backends.count > 1)
    }

    @Test("a terminated backend is replaced and the next request succeeds")
    func terminatedBackendReplaced() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.apiConninfo, poolSize: 2, acquireTimeout: .seconds(30)))
        let first = try await pool.query("select pg_backend_pid()").scalar
        // Kill every backend of the pool while its connections sit idle.
        let killed = try database.scalar(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = $1 and usename = 'boxoffice_api'",
            [database.name])
        #expect(killed != "0")
        try await Task.sleep(for: .milliseconds(100))
        for _ in 0..<4 {
            let pid = try await pool.query("select pg_backend_pid()").scalar
            #expect(pid != first)
        }
        await pool.shutdown()
    }

    @Test("a SQLSTATE raised in SQL reaches Swift with message, detail and hint")
    func sqlstateSurfaces() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.adminConninfo, poolSize: 1, acquireTimeout: .seconds(30)))
        await #expect {
            try await pool.query("""
                do $$ begin raise exception using errcode = 'CR201', message = 'seat taken',
                  detail = 'seat 7 on date 3 is held by another user', hint = 'pick another seat'; end $$
                """)
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.sqlstate == "CR201" && error.message == "seat taken"
                && error.detail == "seat 7 on date 3 is held by another user" && error.hint == "pick another seat"
        }
        await pool.shutdown()
    }

    @Test("a request that cannot get a connection in time fails with PoolUnavailableError")
    func boundedWait() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.apiConninfo, poolSize: 1, acquireTimeout: .milliseconds(100)))
        async let busy = pool.query("select pg_sleep(1)")
        try await Task.sleep(for: .milliseconds(50))
        await #expect(throws: PoolUnavailableError.self) { try await pool.query("select 1") }
        _ = try await busy
        #expect(try await pool.query("select 1").scalar == "1")
        await pool.shutdown()
    }

    @Test("20 waiters behind a busy connection each time out once, in time; the pool then serves again")
    func manyWaitersTimeOut() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.apiConninfo, poolSize: 1, acquireTimeout: .milliseconds(200)))
        // The only connection stays busy until the waiters are done (waiting
        // for a lock another session holds), however slow a loaded machine
        // is; a waiter that never gave up would get it only after the
        // release, at the latest 30 s on, and count as a failure.
        let holder = try Connection.open(conninfo: database.adminConninfo)
        defer { holder.close() }
        let busy = try await Self.occupyOnlyConnection(pool, holder: holder, lock: 4242)
        let release = Task {
            guard (try? await Task.sleep(for: .seconds(30))) != nil else { return }  // cancelled: the test unlocks
            _ = try? holder.execute("select pg_advisory_unlock(4242)")
        }
        let outcomes = await Self.gaveUp(pool, callers: Array(repeating: .standard, count: 20))
        // Each gave up: none was left waiting until the busy connection came back.
        #expect(outcomes == Array(repeating: true, count: 20))
        release.cancel()
        _ = await release.value
        _ = try holder.execute("select pg_advisory_unlock(4242)")
        _ = try await busy.value
        #expect(try await pool.query("select 1").scalar == "1")
        await pool.shutdown()
    }

    /// One `select 1` per lane in `callers`, at once: for each, whether it
    /// gave up waiting for a connection (PoolUnavailableError).
    private static func gaveUp(_ pool: Database, callers: [Database.Lane]) async -> [Bool] {
        await withTaskGroup(of: Bool.self) { group in
            for lane in callers {
                group.addTask {
                    do {
                        _ = try await pool.query("select 1", lane: lane)
                        return false
                    } catch {
                        return error is PoolUnavailableError
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
    }

    /// The pool's one connection waits for a lock `holder` holds (checked in
    /// pg_locks), so every later caller has to wait in the pool.
    private static func occupyOnlyConnection(
        _ pool: Database, holder: Connection, lock: Int
    ) async throws -> Task<QueryResult, any Error> {
        _ = try holder.execute("select pg_advisory_lock($1)", [String(lock)])
        let busy = Task { try await pool.query("select pg_advisory_lock($1)", [String(lock)]) }
        let blocked = try await JobProbe.waitUntil(seconds: 30) {
            try holder.execute(
                "select count(*) from pg_locks where locktype = 'advisory' and objid = $1 and not granted",
                [String(lock)]
            ).scalar == "1"
        }
        try #require(blocked, "the pool's connection never waited for the lock")
        return busy
    }

    @Test("a freed connection goes to the first lane with a waiter, but to a lane passed over three times in a row first, standard before line")
    func lanes() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.adminConninfo, poolSize: 1, acquireTimeout: .seconds(60)))
        let holder = try Connection.open(conninfo: database.adminConninfo)
        defer { holder.close() }
        _ = try holder.execute("create table served (n bigint generated always as identity, caller text)")
        let busy = try await Self.occupyOnlyConnection(pool, holder: holder, lock: 4243)
        // Three standard callers, three in line, then four purchase ones,
        // each in the pool's queue before the next is started, so their
        // order is known.
        let callers =
            (1...3).map { ("S\($0)", Database.Lane.standard) } + (1...3).map { ("L\($0)", Database.Lane.line) }
            + (1...4).map { ("P\($0)", Database.Lane.purchase) }
        var tasks: [Task<Void, any Error>] = []
        for (index, (name, lane)) in callers.enumerated() {
            tasks.append(Task { try await pool.query("insert into served (caller) values ($1)", [name], lane: lane) })
            let queued = try await JobProbe.waitUntil(seconds: 30) { pool.waiting.reduce(0, +) == index + 1 }
            try #require(queued, "caller \(name) never waited in the pool")
        }
        #expect(pool.waiting == [4, 3, 3])
        _ = try holder.execute("select pg_advisory_unlock(4243)")
        _ = try await busy.value
        for task in tasks { try await task.value }
        // The connection serves one caller at a time, so the identity column
        // records the order in which the pool handed it out: purchase first;
        // after three, standard and line have each been passed over three
        // times (standard, last in order, goes first); then purchase again,
        // and so on.
        let order = try holder.execute("select string_agg(caller, ' ' order by n) from served").scalar
        #expect(order == "P1 P2 P3 S1 L1 P4 L2 S2 L3 S3")
        await pool.shutdown()
    }

    @Test("the seats and money routes wait in the purchase lane, polls, leaves and event streams in line, the rest in standard")
    func routeLanes() {
        let lanes = Dictionary(grouping: Routes.table, by: \.lane).mapValues { Set($0.map { "\($0.method) \($0.path)" }) }
        #expect(lanes[.purchase] == [
            "GET /api/concerts/{concertId}/dates", "GET /api/concerts/{concertId}/dates/{dateId}/seats",
            "POST /api/reservations", "GET /api/reservations/{reservationId}", "DELETE /api/reservations/{reservationId}",
            "GET /api/balance", "POST /api/balance/charge", "GET /api/balance/history",
            "POST /api/payments", "GET /api/payments",
        ])
        #expect(lanes[.line] == [
            "GET /api/queue/tokens/me", "DELETE /api/queue/tokens/me", "GET /api/queue/tokens/me/events",
        ])
        #expect(lanes[.standard] == ["POST /api/users", "POST /api/queue/tokens", "GET /api/concerts"])
    }

    @Test("a lane whose waiters all timed out starts counting afresh: its next waiter does not jump the purchase lane")
    func passOverCountStartsAfresh() async throws {
        let database = try await TestDatabase.create()
        // Long enough for the first four callers to be queued and the first
        // three served on a loaded machine; L1 then waits it out.
        let pool = Database(.init(conninfo: database.adminConninfo, poolSize: 1, acquireTimeout: .seconds(10)))
        let holder = try Connection.open(conninfo: database.adminConninfo)
        defer { holder.close() }
        _ = try holder.execute("create table served (n bigint generated always as identity, caller text)")
        let busy = try await Self.occupyOnlyConnection(pool, holder: holder, lock: 4245)
        // A second lock, which the third purchase caller will wait for.
        _ = try holder.execute("select pg_advisory_lock(4246)")
        func enqueue(_ name: String, _ lane: Database.Lane, sql: String? = nil) async throws -> Task<Void, any Error> {
            let before = pool.waiting.reduce(0, +)
            let task = Task {
                try await pool.query(sql ?? "insert into served (caller) values ($1)", sql == nil ? [name] : [], lane: lane)
                return ()
            }
            let queued = try await JobProbe.waitUntil(seconds: 30) { pool.waiting.reduce(0, +) == before + 1 }
            try #require(queued, "caller \(name) never waited in the pool")
            return task
        }
        let first = try await enqueue("L1", .line)
        let served = [try await enqueue("P1", .purchase), try await enqueue("P2", .purchase)]
        let blocker = try await enqueue("P3", .purchase, sql: "select pg_advisory_lock(4246)")
        // P1, P2 and P3 go before L1, which is passed over three times; P3
        // then holds the connection until L1 has given up waiting.
        _ = try holder.execute("select pg_advisory_unlock(4245)")
        _ = try await busy.value
        for task in served { try await task.value }
        let blocked = try await JobProbe.waitUntil(seconds: 30) {
            try holder.execute(
                "select count(*) from pg_locks where locktype = 'advisory' and objid = 4246 and not granted"
            ).scalar == "1"
        }
        try #require(blocked, "P3 never held the connection")
        await #expect(throws: PoolUnavailableError.self) { try await first.value }
        #expect(pool.waiting == [0, 0, 0])

        let later = [
            try await enqueue("L2", .line), try await enqueue("P4", .purchase), try await enqueue("P5", .purchase),
        ]
        _ = try holder.execute("select pg_advisory_unlock(4246)")
        _ = try await blocker.value
        for task in later { try await task.value }
        // L2 counts from 0: the purchase lane goes first, as for any newcomer.
        let order = try holder.execute("select string_agg(caller, ' ' order by n) from served").scalar
        #expect(order == "P1 P2 P4 P5 L2")
        await pool.shutdown()
    }

    @Test("waiters of every lane time out in time")
    func lanesTimeOut() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.adminConninfo, poolSize: 1, acquireTimeout: .milliseconds(200)))
        let holder = try Connection.open(conninfo: database.adminConninfo)
        defer { holder.close() }
        let busy = try await Self.occupyOnlyConnection(pool, holder: holder, lock: 4244)
        let outcomes = await Self.gaveUp(pool, callers: Database.Lane.allCases.flatMap { Array(repeating: $0, count: 5) })
        // The connection stays busy until here, so each waiter gave up on its own.
        #expect(outcomes == Array(repeating: true, count: 15))
        #expect(pool.waiting == [0, 0, 0])
        _ = try holder.execute("select pg_advisory_unlock(4244)")
        _ = try await busy.value
        #expect(try await pool.query("select 1", lane: .purchase).scalar == "1")
        await pool.shutdown()
    }

    @Test("a transaction that throws is rolled back")
    func transactionRollsBack() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.adminConninfo, poolSize: 1, acquireTimeout: .seconds(30)))
        try await pool.query("create table t (x int)")
        await #expect(throws: PostgresError.self) {
            try await pool.withTransaction(isolation: .serializable) { connection in
                try connection.execute("insert into t values (1)")
                try connection.execute("select 1/0")
            }
        }
        #expect(try await pool.query("select count(*) from t").scalar == "0")
        await pool.shutdown()
    }

    @Test("a serialization failure is retried: three failed attempts, then the fourth commits")
    func retriesSerializationFailures() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.adminConninfo, poolSize: 1, acquireTimeout: .seconds(30)))
        try await pool.query("create table t (attempt int)")
        let retried = NIOLockedValueBox(0)
        let value = try await pool.withRetryingTransaction(onRetry: { error, attempt in
            #expect(error.sqlstate == "40001")
            retried.withLockedValue {
                #expect(attempt == $0 + 1)
                $0 += 1
            }
        }) { connection in
            // Each attempt's row is rolled back with it; only the winner's stays.
            let attempt = retried.withLockedValue { $0 } + 1
            try connection.execute("insert into t values ($1::int)", [String(attempt)])
            if attempt < 4 {
                try connection.execute("do $$ begin raise exception using errcode = '40001', message = 'conflict'; end $$")
            }
            return attempt
        }
        #expect(value == 4)
        #expect(retried.withLockedValue { $0 } == 3)
        #expect(try await pool.query("select string_agg(attempt::text, ',') from t").scalar == "4")
        await pool.shutdown()
    }

    @Test("retries stop after the attempts allowed, with the last 40001; other errors are not retried")
    func retriesAreBounded() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.adminConninfo, poolSize: 1, acquireTimeout: .seconds(30)))
        let calls = NIOLockedValueBox(0)
        await #expect {
            try await pool.withRetryingTransaction(attempts: 3) { connection in
                calls.withLockedValue { $0 += 1 }
                try connection.execute("do $$ begin raise exception using errcode = '40P01', message = 'deadlock'; end $$")
            }
        } throws: { ($0 as? PostgresError)?.sqlstate == "40P01" }
        #expect(calls.withLockedValue { $0 } == 3)

        calls.withLockedValue { $0 = 0 }
        await #expect {
            try await pool.withRetryingTransaction { connection in
                calls.withLockedValue { $0 += 1 }
                try connection.execute("do $$ begin raise exception using errcode = 'CR201', message = 'seat taken'; end $$")
            }
        } throws: { ($0 as? PostgresError)?.sqlstate == "CR201" }
        #expect(calls.withLockedValue { $0 } == 1)
        await pool.shutdown()
    }
}
