import Foundation
import Testing

@testable import BoxOffice

/// The server behind a real PgBouncer in transaction mode (scripts/test starts
/// Debian's 1.18 in front of the test cluster; scripts/lib/pgbouncer.sh). The
/// HTTP pool sends unprepared statements and keeps no session state; the
/// scheduler and the queue listener use DATABASE_SESSION_URL, a direct
/// connection. The HTTP concurrency scenarios through it, with two
/// instances, are in MultiInstanceTests (`pgbouncer` route).
@Suite("Behind PgBouncer in transaction mode")
struct PgBouncerTests {
    @Test("two clients' prepared statements collide on one server session: why the pool must not prepare behind it")
    func preparedStatementsCollide() async throws {
        let database = try await TestDatabase.create()
        let conninfo = try database.pooledConninfo()
        let first = try Connection.open(conninfo: conninfo)
        defer { first.close() }
        let second = try Connection.open(conninfo: conninfo)
        defer { second.close() }
        // One after the other, so PgBouncer hands both the one idle server
        // session: the first prepares "s1" there, the second tries again.
        try first.execute("select 1")
        #expect {
            try second.execute("select 2")
        } throws: { error in
            (error as? PostgresError)?.sqlstate == "42P05"
        }
        // The same two clients with unnamed statements.
        let third = Connection(conninfo: conninfo, preparesStatements: false)
        try third.connect()
        defer { third.close() }
        let fourth = Connection(conninfo: conninfo, preparesStatements: false)
        try fourth.connect()
        defer { fourth.close() }
        for round in 0..<5 {
            #expect(try third.execute("select $1::int + 1", [String(round)]).scalar == String(round + 1))
            #expect(try fourth.execute("select $1::int + 1", [String(round)]).scalar == String(round + 1))
        }
    }

    @Test("an unprepared pool through PgBouncer: 200 concurrent calls on 16 connections, SQLSTATEs intact, transactions whole")
    func unpreparedPool() async throws {
        let database = try await TestDatabase.create()
        // A long wait for a connection: this checks answers, not speed, and
        // at the suite's start on two cores the tasks that give connections
        // back can wait tens of seconds for a cooperative thread.
        let pool = Database(
            .init(conninfo: try database.pooledConninfo(), poolSize: 16, acquireTimeout: .seconds(120), preparedStatements: false))
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<200 {
                group.addTask { try await pool.query("select $1::text from pg_sleep(0.005)", [String(i)]).scalar ?? "" }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(answers) == Set((0..<200).map(String.init)))
        // A project SQLSTATE comes through with its fields.
        await #expect {
            try await pool.query("do $$ begin raise exception using errcode = 'CR201', message = 'seat taken', detail = 'd'; end $$")
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.sqlstate == "CR201" && error.message == "seat taken" && error.detail == "d"
        }
        // A transaction keeps its server session from BEGIN to COMMIT.
        let pids = try await pool.withTransaction(isolation: .serializable) { connection in
            [
                try connection.execute("select pg_backend_pid()::text").scalar,
                try connection.execute("select current_setting('transaction_isolation')").scalar,
                try connection.execute("select pg_backend_pid()::text").scalar,
            ]
        }
        #expect(pids[0] == pids[2])
        #expect(pids[1] == "serializable")
        await pool.shutdown()
    }

    @Test("serve behind PgBouncer: requests go through it, the scheduler's lock and LISTEN stay on direct sessions and admit fans")
    func scheduleAndListenDirect() async throws {
        let database = try await TestDatabase.create()
        let before = try PgBouncerFixtures.transactions(database: database.name)
        let server = try await ServeProcess(
            database: database, instance: "pooled",
            environment: ["DATABASE_URL": try database.pooledConninfo(), "DATABASE_SESSION_URL": database.apiConninfo])
        defer { server.stop() }
        let client = server.client
        let concert = try Fixtures.concert(database)
        let userId = try await Fixtures.user(client)
        let token = try await Fixtures.join(client, userId: userId, concertId: concert.concertId)

        // The scheduler's queue_admit (no test admission here) makes it ACTIVE.
        var status = ""
        for _ in 0..<100 where status != "ACTIVE" {
            status = try await client.get("/api/queue/tokens/me", token: token).string("status") ?? ""
            if status != "ACTIVE" { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(status == "ACTIVE", "\(server.log.suffix(2_000))")
        let holds = try await client.post(
            "/api/reservations", ["concertId": concert.concertId, "dateId": concert.dateIds[0], "seatNo": 3], token: token)
        #expect(holds.status == 201)

        // The leader lock and the LISTEN are held by backends that are not
        // PgBouncer's server sessions.
        let leader = try database.scalar(
            """
            select pid::text from pg_locks where locktype = 'advisory' and granted and database = (
              select oid from pg_database where datname = current_database())
              and classid = 1651472495 and objid = 1717987683
            """)
        let listener = try database.scalar(
            "select pid::text from pg_stat_activity where datname = current_database() and query ilike 'listen %'")
        let pooled = try PgBouncerFixtures.serverPIDs()
        let leaderPID = try #require(leader, "no session holds the leader lock:\n\(server.log.suffix(2_000))")
        let listenerPID = try #require(listener, "no session listens:\n\(server.log.suffix(2_000))")
        #expect(!pooled.contains(leaderPID))
        #expect(!pooled.contains(listenerPID))
        #expect(try PgBouncerFixtures.transactions(database: database.name) - before >= 4)
        #expect(try PaymentFixtures.integer(database,
            "select count(*) from app.job_runs r join app.jobs j using (job_id) where j.name = 'queue_admit' and r.status = 'succeeded'") >= 1)
        #expect(!server.log.contains("already exists"), "\(server.log.suffix(2_000))")
        #expect(await server.stopped() == 0)
    }
}

enum PgBouncerFixtures {
    /// Transactions PgBouncer has passed to `database` so far (SHOW STATS).
    static func transactions(database: String) throws -> Int {
        let console = try TestDatabase.pgbouncerConsole()
        defer { console.close() }
        let stats = try console.run(script: "show stats")
        guard let name = stats.columns.firstIndex(of: "database"),
            let count = stats.columns.firstIndex(of: "total_xact_count")
        else { return 0 }
        return stats.rows.filter { $0[name] == database }.compactMap { Int($0[count] ?? "") }.reduce(0, +)
    }

    /// The backend pids of PgBouncer's server sessions (SHOW SERVERS).
    static func serverPIDs() throws -> Set<String> {
        let console = try TestDatabase.pgbouncerConsole()
        defer { console.close() }
        let servers = try console.run(script: "show servers")
        guard let pid = servers.columns.firstIndex(of: "remote_pid") else { return [] }
        return Set(servers.rows.compactMap { $0[pid] })
    }
}
