import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import Testing

@testable import BoxOffice

#if canImport(Glibc)
import Glibc
#endif

/// No request can pin a pool connection: a lock held elsewhere, a client
/// that hangs up, a session left in a transaction.
@Suite("Pool sessions cannot be pinned")
struct PoolTimeoutTests {
    /// The server's sessions waiting on a lock in `database`.
    static func waitingOnLock(_ database: TestDatabase) throws -> Int {
        let watcher = try database.admin()
        defer { watcher.close() }
        return try PaymentFixtures.waitingOnLock(watcher)
    }

    /// Polls `condition` every 50 ms for up to `seconds`.
    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try condition()
    }

    @Test("behind a lock held in another session, more requests than connections get 503 and the instance answers again within the lock timeout")
    func lockHeldElsewhere() async throws {
        // 3 s lock waits: both connections stay on the lock for seconds, long
        // enough for the check below to see it on a loaded machine.
        let timeouts = Database.Timeouts(statementSeconds: 5, lockSeconds: 3, idleInTransactionSeconds: 10)
        // Without the timeouts /ready would wait the whole pool wait (60 s) and get 503.
        let poolSize = 2
        try await TestServer.with(poolSize: poolSize, poolWait: .seconds(60), timeouts: timeouts) { server in
            let client = server.client
            // As a psql session would: a transaction holding app.users, which every POST /api/users needs.
            let holder = try server.database.admin()
            defer { holder.close() }
            try holder.run(script: "begin; lock table app.users in access exclusive mode")

            let stuck = Task {
                try await withThrowingTaskGroup(of: HTTPTestClient.Answer.self) { group in
                    for i in 0..<6 { group.addTask { try await client.post("/api/users", ["name": "stuck \(i)"]) } }
                    return try await group.reduce(into: [HTTPTestClient.Answer]()) { $0.append($1) }
                }
            }
            // The race happened: both pool connections really wait on the lock.
            #expect(try await Self.eventually(15) { try Self.waitingOnLock(server.database) == poolSize })

            // Three rounds of two 3 s lock waits at most, then /ready gets a
            // connection (the bound leaves room for a loaded machine).
            let started = Date()
            let ready = try await client.get("/ready")
            let readyAfter = Date().timeIntervalSince(started)
            #expect(ready.status == 200)
            #expect(readyAfter < 20, "ready after \(readyAfter) s")
            #expect(try await client.get("/api/concerts").status == 200, "other routes answer too, the lock still held")

            let answers = try await stuck.value
            #expect(answers.count == 6)
            #expect(answers.allSatisfy { $0.status == 503 && $0.errorCode == "UNAVAILABLE" && $0.headers["retry-after"] != nil },
                    "\(answers.map { "\($0.status) \($0.errorCode ?? "")" })")
            #expect(try Self.waitingOnLock(server.database) == 0)

            try holder.run(script: "rollback")
            #expect(try await client.post("/api/users", ["name": "after"]).status == 201, "without a restart")
        }
    }

    /// The pool's sessions (application_name boxoffice) matching `condition`
    /// on pg_stat_activity, by backend pid.
    static func poolBackends(_ database: TestDatabase, where condition: String) throws -> Set<String> {
        let connection = try database.admin()
        defer { connection.close() }
        let rows = try connection.execute("""
            select pid::text from pg_stat_activity
            where datname = current_database() and usename = 'boxoffice_api' and application_name = 'boxoffice'
              and \(condition)
            """).rows
        return Set(rows.compactMap { $0[0] })
    }

    @Test("clients that hang up cancel their statements on the server: the pool's sessions come back idle at once, the lock still held")
    func hangUpCancels() async throws {
        // Timeouts far longer than the test: only the cancel can free the
        // connections, and a request waiting for one would wait 90 s.
        let timeouts = Database.Timeouts(statementSeconds: 120, lockSeconds: 120, idleInTransactionSeconds: 120)
        let poolSize = 2
        try await TestServer.with(poolSize: poolSize, poolWait: .seconds(90), timeouts: timeouts) { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database)
            let fans = try await Fixtures.activeTokens(client, server.database, concertId: concert.concertId, count: 2)
            let (locked, other) = (fans[0], fans[1])
            // As a psql session would: a transaction holding one fan's row,
            // which a charge of theirs updates.
            let holder = try server.database.admin()
            defer { holder.close() }
            try holder.run(script: "begin")
            try holder.execute("select 1 from app.users where user_id = $1::bigint for update", [String(locked.userId)])

            // Twice as many charges as the pool has connections: every
            // connection waits on the lock, the other charges wait for one.
            let body = #"{"amount":100}"#
            let request = """
                POST /api/balance/charge HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(locked.token)\r\n\
                Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)
                """
            let sockets = try (0..<2 * poolSize).map { _ in try RawHTTP.sendOnly(port: server.port, request) }
            #expect(try await Self.eventually(15) { try Self.waitingOnLock(server.database) == poolSize },
                    "every pool connection waits on the lock")
            let pinned = try Self.poolBackends(server.database, where: "wait_event_type = 'Lock' and query like '%balance_charge%'")
            #expect(pinned.count == poolSize, "pinned: \(pinned)")

            // Every client hangs up; one only shuts down its sending side, so
            // that it reads what the server answers a gone client.
            for fd in sockets.dropFirst() { close(fd) }
            let halfClosed = try await RawHTTP.halfCloseAndRead(sockets[0])
            #expect(halfClosed.status == 503, "\(halfClosed)")
            #expect(halfClosed.body.contains("UNAVAILABLE") && halfClosed.body.contains("cancelled"), "\(halfClosed.body)")

            #expect(try await Self.eventually(15) { try Self.waitingOnLock(server.database) == 0 },
                    "the statements were cancelled, though the lock is still held")
            #expect(try await Self.eventually(15) { try Self.poolBackends(server.database, where: "state = 'idle'") == pinned },
                    "the same sessions, idle: outside any transaction, not closed and reopened")
            #expect(try server.database.scalar("""
                select count(*) from (select 1 from app.users where user_id = $1::bigint for update skip locked) s
                """, [String(locked.userId)]) == "0", "the row is still locked")

            // The pool serves another fan's charge (were its connections still
            // pinned, the charge would wait the 90 s pool wait and get 503).
            let charged = try await client.post("/api/balance/charge", ["amount": 100], token: other.token)
            #expect(charged.status == 200, "\(charged.status) \(charged.json)")
            #expect(try Self.poolBackends(server.database, where: "true") == pinned, "on one of the same sessions")
            #expect(try Self.waitingOnLock(server.database) == 0, "no charge of a gone client ran after the others")

            try holder.run(script: "rollback")
            #expect(try server.database.scalar(
                "select count(*) from app.ledger where user_id = $1::bigint", [String(locked.userId)]) == "0",
                    "no cancelled charge took effect")
            let after = try await client.post("/api/balance/charge", ["amount": 100], token: locked.token)
            #expect(after.status == 200 && after.int("balance") == 100, "\(after.status) \(after.json)")
            #expect(try Fixtures.audit(server.database).isEmpty)
        }
    }

    @Test("a request cancelled for any reason is answered 503 UNAVAILABLE with Retry-After, not 500")
    func cancellationIsUnavailable() {
        let answer = APIError.from(CancellationError(), logger: Logger(label: "test"))
        #expect(answer.status == .serviceUnavailable && answer.code == "UNAVAILABLE" && answer.headers[.retryAfter] != nil)
    }

    @Test("a keep-alive connection serves request after request: watching for hang-ups closes nothing")
    func keepAliveStaysOpen() async throws {
        try await TestServer.with(poolSize: 1) { server in
            let get = "GET /api/concerts HTTP/1.1\r\nHost: x\r\n\r\n"
            let body = #"{"name":"kept"}"#
            let post = """
                POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: \(body.utf8.count)\r\n\r\n\(body)
                """
            let answers = try await RawHTTP.exchanges(port: server.port, [get, post, get, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"])
            #expect(answers.map(\.status) == [200, 201, 200, 200], "\(answers)")
        }
    }

    @Test("a cancelled caller cancels its statement on the server (57014), and the same session serves the next caller")
    func cancelledCallerCancelsStatement() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.apiConninfo, poolSize: 1, acquireTimeout: .seconds(30)))
        let pid = try await pool.query("select pg_backend_pid()::text").scalar
        let sleeper = Task { try await pool.query("select pg_sleep(60)") }
        #expect(try await Self.eventually(15) { try Self.poolBackends(database, where: "wait_event = 'PgSleep'").count == 1 })
        sleeper.cancel()
        do {
            _ = try await sleeper.value
            Issue.record("the statement ran to its end")
        } catch let error as PostgresError {
            #expect(error.sqlstate == "57014", "\(error)")
        }
        #expect(try await pool.query("select pg_backend_pid()::text").scalar == pid)
        await pool.shutdown()
    }

    @Test("a call cancelled while it waits for a connection never runs")
    func cancelledWhileWaitingNeverRuns() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.apiConninfo, poolSize: 1, acquireTimeout: .seconds(30)))
        // The pool's one connection stays busy until this test lets it go: its
        // statement waits for an advisory lock a session of the test holds.
        // (It used to sleep 0.5 s, which a loaded machine could miss whole
        // between two looks at pg_stat_activity.)
        let holder = try database.admin()
        defer { holder.close() }
        try holder.execute("select pg_advisory_lock(4242)")
        let busy = Task { try await pool.query("select pg_advisory_lock(4242), pg_advisory_unlock(4242)") }
        #expect(try await Self.eventually(15) { try Self.poolBackends(database, where: "wait_event = 'advisory'").count == 1 })
        let ran = NIOLockedValueBox(false)
        let waiter = Task { try await pool.withConnection { _ in ran.withLockedValue { $0 = true } } }
        waiter.cancel()
        try holder.execute("select pg_advisory_unlock(4242)")
        _ = try await busy.value
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(ran.withLockedValue { $0 } == false)
        await pool.shutdown()
    }

    @Test("a cancel that comes after its caller's use of the connection never reaches the next caller's statement; within the use, it stops the statements that follow")
    func lateCancelMissesNextCaller() async throws {
        let database = try await TestDatabase.create()
        let connection = try Connection.open(conninfo: database.apiConninfo)
        defer { connection.close() }
        let over = connection.beginCancellableUse()
        connection.endCancellableUse()
        let current = connection.beginCancellableUse()
        defer { connection.endCancellableUse() }
        // The late cancel comes while the next caller's statement runs. On a
        // thread of its own: a Dispatch queue's 0.3 s came after the whole
        // statement once, with the suite's other work queued before it.
        func late(_ cancel: @escaping @Sendable () -> Void) {
            Thread {
                Thread.sleep(forTimeInterval: 0.3)
                cancel()
            }.start()
        }
        let lateSent = NIOLockedValueBox<Bool?>(nil)
        late { lateSent.withLockedValue { $0 = connection.cancel(use: over) } }
        #expect(try connection.execute("select pg_sleep(1)::text").rows.count == 1, "the statement ran to its end")
        #expect(lateSent.withLockedValue { $0 } == false)
        // The current caller's cancel does reach it.
        late { connection.cancel(use: current) }
        #expect { try connection.execute("select pg_sleep(30)") } throws: { ($0 as? PostgresError)?.sqlstate == "57014" }
        // A cancel that lands between two statements is ignored by the
        // server; the use's next statement is refused instead.
        #expect { try connection.execute("select 1") } throws: { ($0 as? PostgresError)?.sqlstate == "57014" }
        #expect(try connection.run(script: "select 1").scalar == "1", "BEGIN, COMMIT and ROLLBACK still run")
        connection.endCancellableUse()
        _ = connection.beginCancellableUse()
        #expect(try connection.execute("select 1::text").scalar == "1", "the next use runs")
    }

    @Test("a session left in a transaction is rolled back before the pool hands it out again")
    func openTransactionNotHandedOut() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.apiConninfo, poolSize: 1, acquireTimeout: .seconds(30)))
        let pid = try await pool.withConnection { connection in
            try connection.run(script: "begin; create temporary table left_open (x int)")
            return connection.backendPID
        }
        let (nextPID, table) = try await pool.withConnection { connection in
            (connection.backendPID, try connection.execute("select to_regclass('pg_temp.left_open')::text").scalar)
        }
        #expect(nextPID == pid, "the same session, rolled back rather than reopened")
        #expect(table == nil, "the transaction it was left in was rolled back")
        #expect(try await pool.query("select pg_current_xact_id_if_assigned()::text").scalar == nil, "no transaction carried over")
        await pool.shutdown()
    }

    @Test("a session whose ROLLBACK failed is closed by the pool, before any next use could reopen it, and the next caller gets a fresh one")
    func failedRollbackCloses() async throws {
        let database = try await TestDatabase.create()
        let pool = Database(.init(conninfo: database.apiConninfo, poolSize: 1, acquireTimeout: .seconds(30)))
        let first = try await pool.query("select pg_backend_pid()").scalar
        let killer = try database.admin()
        defer { killer.close() }
        struct Boom: Error {}
        let used = NIOLockedValueBox<Connection?>(nil)
        await #expect(throws: Boom.self) {
            try await pool.withTransaction { connection in
                used.withLockedValue { $0 = connection }
                // Its backend ends mid-transaction (waited for, up to 10 s):
                // the ROLLBACK that follows fails.
                let ended = try killer.execute("select pg_terminate_backend($1::integer, 10000)::text", [String(connection.backendPID)])
                #expect(ended.scalar == "true")
                throw Boom()
            }
        }
        // The rule itself: the pool's one connection, back in the pool, has no
        // session (a next use would reopen a broken one anyway, so the next
        // caller's fresh backend alone would not show it).
        let connection = try #require(used.withLockedValue { $0 })
        #expect(connection.isClosed, "the pool kept a session whose ROLLBACK failed")
        let next = try await pool.query("select pg_backend_pid()").scalar
        #expect(next != nil && next != first)
        await pool.shutdown()
    }

    @Test("endTransactionOrClose rolls back a transaction left open or failed on the same session, and closes one whose ROLLBACK fails")
    func endTransactionOrCloseBranches() async throws {
        let database = try await TestDatabase.create()
        let admin = try database.admin()
        defer { admin.close() }
        let connection = try Connection.open(conninfo: database.apiConninfo)
        defer { connection.close() }
        let pid = connection.backendPID

        try connection.run(script: "begin; create temporary table left_open (x int)")
        connection.endTransactionOrClose()
        #expect(!connection.isClosed && connection.isIdle && connection.backendPID == pid, "left open: rolled back, kept")
        #expect(try connection.execute("select to_regclass('pg_temp.left_open')::text").scalar == nil)

        try connection.run(script: "begin")
        #expect(throws: PostgresError.self) { try connection.execute("select 1 / 0") }
        connection.endTransactionOrClose()
        #expect(!connection.isClosed && connection.isIdle && connection.backendPID == pid, "failed: rolled back, kept")

        // The backend ends while the session is in a transaction; libpq has
        // read nothing since, so the session still looks open and in it.
        try connection.run(script: "begin")
        #expect(try admin.execute("select pg_terminate_backend($1::integer, 10000)::text", [String(pid)]).scalar == "true")
        #expect(!connection.isClosed && !connection.isIdle)
        connection.endTransactionOrClose()
        #expect(connection.isClosed, "its ROLLBACK failed: closed")
    }
}
