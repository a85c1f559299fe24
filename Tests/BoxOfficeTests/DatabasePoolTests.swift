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
        _ = try holder.execute("select pg_advisory_lock(4242)")
        async let busy = pool.query("select pg_advisory_lock(4242)")
        let blocked = try await JobProbe.waitUntil(seconds: 30) {
            try holder.execute("""
                select count(*) from pg_locks where locktype = 'advisory' and objid = 4242 and not granted
                """).scalar == "1"
        }
        try #require(blocked, "the pool's connection never waited for the lock")
        let release = Task {
            guard (try? await Task.sleep(for: .seconds(30))) != nil else { return }  // cancelled: the test unlocks
            _ = try? holder.execute("select pg_advisory_unlock(4242)")
        }
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    do {
                        _ = try await pool.query("select 1")
                        return false
                    } catch {
                        return error is PoolUnavailableError
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        // Each gave up: none was left waiting until the busy connection came back.
        #expect(outcomes == Array(repeating: true, count: 20))
        release.cancel()
        _ = await release.value
        _ = try holder.execute("select pg_advisory_unlock(4242)")
        _ = try await busy
        #expect(try await pool.query("select 1").scalar == "1")
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
