import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import BoxOffice

/// The scheduler's pool, statement timeout and stopping, and the
/// bounded shutdown of `boxoffice serve`: real processes (see
/// `SchedulerProcessTests`, whose `JobProbe` these share), except where the
/// `Scheduler` service itself is run in this process to starve it.
@Suite("Scheduler: own pool, statement timeout, bounded shutdown", .serialized)
struct SchedulerShutdownTests {
    @Test("with an event stream open, serve ends the stream and exits 0 within 8 s", arguments: [SIGTERM, SIGINT])
    func shutdownWithEventStream(signal: Int32) async throws {
        let database = try await TestDatabase.create()
        let serve = try await ServeProcess(database: database, instance: "streaming")
        defer { serve.stop(signal: SIGKILL) }
        let concert = try Fixtures.concert(database, dates: 1)
        let token = try await Fixtures.join(
            serve.client, userId: try await Fixtures.user(serve.client), concertId: concert.concertId)
        let stream = try await QueueFixtures.EventStream(port: serve.port, token: token)
        defer { stream.close() }
        #expect(stream.status == 200)
        let first = try await stream.next(within: .seconds(20))
        try #require(first?.name == "ticket", "no first ticket event:\n\(serve.log)")

        let signalled = ContinuousClock.now
        kill(serve.pid, signal)
        // the stream ends (nil before the deadline) rather than going on with heartbeats
        while try await stream.next(within: .seconds(8)) != nil, ContinuousClock.now - signalled < .seconds(8) {}
        let streamEnded = ContinuousClock.now - signalled
        #expect(streamEnded < .seconds(8), "the stream was still open \(streamEnded) after the signal")

        let exit = try await ServeExit.wait(for: serve, within: .seconds(8), since: signalled)
        let (status, took) = try #require(exit, "serve still running 8 s after signal \(signal):\n\(serve.log)")
        #expect(status == 0, "exit status \(status):\n\(serve.log)")
        #expect(took < Server.maximumGracefulShutdown, "took \(took): the stream held shutdown up to its bound")
        #expect(serve.log.contains("scheduler stopped"), "\(serve.log)")
    }

    @Test("SIGTERM while a job sleeps 60 s: serve exits 0 within its bound and the run is recorded failed (57014)")
    func shutdownCancelsLongRun() async throws {
        let database = try await TestDatabase.create()
        let serve = try await ServeProcess(database: database, instance: "stopping")
        defer { serve.stop(signal: SIGKILL) }
        let signalled = try await ServeExit.signal(serve, whileRunning: "sleeper", command: "select pg_sleep(60)", in: database)
        let exit = try await ServeExit.wait(for: serve, within: Server.maximumGracefulShutdown + .seconds(5), since: signalled)
        let (status, took) = try #require(exit, "serve still running 15 s after SIGTERM:\n\(serve.log)")
        #expect(status == 0, "exit status \(status):\n\(serve.log)")
        // the run had its 5 s of grace, then was cancelled
        #expect(took >= .seconds(4.5) && took < Server.maximumGracefulShutdown, "took \(took)")
        #expect(serve.log.contains("scheduler: cancelling runs still going at shutdown"), "\(serve.log)")

        let sleeper = try JobProbe.runs(database, job: "sleeper")
        #expect(sleeper.count == 1, "\(sleeper)")
        #expect(sleeper.first?.status == "failed" && sleeper.first?.finished != nil, "\(sleeper)")
        #expect(
            sleeper.first?.message?.contains("57014") == true && sleeper.first?.message?.contains("user request") == true,
            "\(sleeper)")
        #expect(try JobProbe.runs(database).filter { ["starting", "running"].contains($0.status) }.isEmpty)
        #expect(try JobProbe.leaderLocks(database) == 0)
    }

    @Test("SIGTERM while a short run is going: the run finishes and succeeds before serve exits")
    func shutdownLetsShortRunFinish() async throws {
        let database = try await TestDatabase.create()
        let serve = try await ServeProcess(database: database, instance: "finishing")
        defer { serve.stop(signal: SIGKILL) }
        let signalled = try await ServeExit.signal(serve, whileRunning: "short", command: "select pg_sleep(2)", in: database)
        let exit = try await ServeExit.wait(for: serve, within: Server.maximumGracefulShutdown, since: signalled)
        let (status, _) = try #require(exit, "serve still running 10 s after SIGTERM:\n\(serve.log)")
        #expect(status == 0, "exit status \(status):\n\(serve.log)")
        #expect(try JobProbe.runs(database, job: "short").map(\.status) == ["succeeded"])
        #expect(!serve.log.contains("cancelling runs"), "\(serve.log)")
    }

    @Test("JOB_TIMEOUT_SECONDS=1: a job in pg_sleep(5) fails after 1 s with 57014, and the scheduler carries on")
    func statementTimeout() async throws {
        let database = try await TestDatabase.create()
        let serve = try await ServeProcess(database: database, instance: "timeouts", environment: ["JOB_TIMEOUT_SECONDS": "1"])
        defer { serve.stop() }
        try database.scalar("select api.job_schedule('sleeper', '2 seconds', 'select pg_sleep(5)')")

        let failedTwice = try await JobProbe.waitUntil {
            try JobProbe.runs(database, job: "sleeper").count { $0.status == "failed" } >= 2
        }
        try #require(failedTwice, "sleeper did not fail twice within 30 s:\n\(serve.log)")
        let failed = try JobProbe.runs(database, job: "sleeper").filter { $0.status == "failed" }
        for run in failed {
            #expect(run.message?.contains("57014") == true && run.message?.contains("statement timeout") == true, "\(run)")
            let seconds = (run.finished ?? .infinity) - run.started
            #expect(seconds >= 0.9 && seconds < 4, "a run of pg_sleep(5) under a 1 s timeout took \(seconds) s")
        }
        let firstFailure = try #require(failed.first?.finished)
        let carriesOn = try await JobProbe.waitUntil {
            try JobProbe.runs(database, job: "queue_admit").contains { $0.started > firstFailure && $0.status == "succeeded" }
        }
        #expect(carriesOn, "no queue_admit succeeded after the timeout:\n\(serve.log)")
        #expect(try await serve.client.get("/health").status == 200)
    }

    @Test("with every HTTP connection busy (DB_POOL_SIZE=1, held on a lock), jobs still run on the scheduler's pool")
    func jobsDoNotWaitForHTTPPool() async throws {
        let database = try await TestDatabase.create()
        // only the probe runs: the built-in jobs would queue on the same lock
        try database.scalar("update app.jobs set active = false")
        try database.scalar("select api.job_schedule('probe', '1 seconds', 'select 1')")
        let serve = try await ServeProcess(
            database: database, instance: "busy",
            // the join waits on the lock for as long as the test holds it
            environment: ["DB_POOL_SIZE": "1", "DB_POOL_WAIT_MS": "1000", "DB_LOCK_TIMEOUT_SECONDS": "120", "DB_STATEMENT_TIMEOUT_SECONDS": "120"])
        defer { serve.stop() }
        let concert = try Fixtures.concert(database, dates: 1)
        let userId = try await Fixtures.user(serve.client)

        // the one HTTP connection waits for another session's live ticket of
        // the same user and concert, inserted and not yet committed (joins
        // take no lock on the concert's queue row any more)
        let lock = try database.admin()
        defer { lock.close() }
        try lock.run(script: "begin")
        try lock.execute(
            "insert into app.queues (concert_id) values ($1::bigint) on conflict do nothing", [String(concert.concertId)])
        try lock.execute(
            """
            insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
            values ($1::bigint, nextval('app.queue_tickets_queue_no_seq'), $2::bigint, 'WAITING', now(), now())
            """, [String(concert.concertId), String(userId)])
        async let blockedJoin = serve.client.post("/api/queue/tokens", ["userId": userId, "concertId": concert.concertId])
        let blocked = try await JobProbe.waitUntil {
            try QueueFixtures.count(
                database,
                """
                select count(*) from pg_stat_activity
                where datname = current_database() and usename = 'boxoffice_api' and wait_event_type = 'Lock'
                """) == 1
        }
        try #require(blocked, "the join never waited on the lock")
        let unavailable = try await serve.client.get("/api/queue/tokens/me", token: UUID().uuidString)
        #expect(
            unavailable.status == 503 && unavailable.errorCode == "UNAVAILABLE",
            "the HTTP pool was not exhausted: \(unavailable.json)")

        let mark = try JobProbe.now(database)
        let ran = try await JobProbe.waitUntil(seconds: 15) {
            try JobProbe.runs(database, job: "probe").count { $0.started > mark && $0.status == "succeeded" } >= 3
        }
        #expect(ran, "probe did not run three times while the HTTP pool was busy:\n\(serve.log)")
        #expect(!serve.log.contains("job run not recorded"), "\(serve.log)")

        try lock.run(script: "rollback")
        #expect(try await blockedJoin.status == 201)
    }

    @Test("a run that gets no connection in time is recorded failed through the leader's session")
    func runWithoutConnection() async throws {
        let database = try await TestDatabase.create()
        try database.scalar("update app.jobs set active = false")
        try database.scalar("select api.job_schedule('first', '59 seconds', 'select pg_sleep(3)')")
        try database.scalar("select api.job_schedule('second', '59 seconds', 'select pg_sleep(3)')")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // two runs at once on a pool of one: one of them waits 200 ms, then gives up
        let pool = Database(.init(conninfo: database.apiConninfo, poolSize: 1, acquireTimeout: .milliseconds(200)))
        let scheduler = Scheduler(
            database: pool, leaderConninfo: database.apiConninfo, instance: "starved", jobTimeoutSeconds: 30,
            logger: logger, maxConcurrentRuns: 2, pollInterval: .milliseconds(500))
        let group = ServiceGroup(configuration: .init(services: [.init(service: scheduler)], logger: logger))
        let outcome = try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let settled = try await JobProbe.waitUntil {
                let runs = try JobProbe.runs(database).filter { ["first", "second"].contains($0.job) }
                return runs.count == 2 && runs.allSatisfy { $0.finished != nil }
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return settled
        }
        await pool.shutdown()

        #expect(outcome, "the two runs did not both finish within 30 s")
        let runs = try JobProbe.runs(database).filter { ["first", "second"].contains($0.job) }
        #expect(runs.map(\.status).sorted() == ["failed", "succeeded"], "\(runs)")
        let failed = try #require(runs.first { $0.status == "failed" })
        #expect(failed.instance == "starved")
        #expect(
            failed.message?.hasPrefix("not run, no database connection: database unavailable: no free connection within 200 ms")
                == true,
            "\(failed)")
        #expect((failed.finished ?? .infinity) - failed.started < 0.5, "recorded as a run of its own, at once: \(failed)")
    }

    @Test("the leader's session sets PostgreSQL's keepalives, tcp_user_timeout and idle_session_timeout over TCP, and connects over a Unix socket")
    func leaderSessionSettings() async throws {
        let database = try await TestDatabase.create()
        let setup = LeaderConnection.sessionSetup(
            idleSessionTimeout: Scheduler.defaultLeaderIdleTimeout(pollInterval: .seconds(2)))
        // scripts/test's cluster also listens on 127.0.0.1; a later keyword wins in a conninfo string
        let overTCP = Connection(conninfo: database.apiConninfo + " host=127.0.0.1", setup: setup)
        try overTCP.connect()
        defer { overTCP.close() }
        #expect(try overTCP.execute("select inet_client_addr() is not null").scalar == "t", "not over TCP")
        func show(_ connection: Connection, _ name: String) throws -> String? { try connection.execute("show \(name)").scalar }
        #expect(try show(overTCP, "tcp_keepalives_idle") == "5")
        #expect(try show(overTCP, "tcp_keepalives_interval") == "1")
        #expect(try show(overTCP, "tcp_keepalives_count") == "3")
        #expect(try show(overTCP, "tcp_user_timeout") == "5000")  // milliseconds
        #expect(try show(overTCP, "application_name") == "boxoffice scheduler")
        #expect(try show(overTCP, "idle_session_timeout") == "30s")

        let overSocket = Connection(conninfo: database.apiConninfo, setup: setup)
        try overSocket.connect()
        defer { overSocket.close() }
        #expect(try overSocket.execute("select inet_client_addr() is null").scalar == "t", "not over a Unix socket")
        #expect(try show(overSocket, "application_name") == "boxoffice scheduler")
        #expect(try show(overSocket, "idle_session_timeout") == "30s")  // any transport: a frozen leader's end
        #expect(Scheduler.defaultLeaderIdleTimeout(pollInterval: .seconds(5)) == .seconds(50))
        let fractional = LeaderConnection.sessionSetup(idleSessionTimeout: .milliseconds(2500))
        #expect(fractional.last?.params == ["2500"])
    }
}

/// Stopping a `boxoffice serve` process and waiting for it to exit, with a deadline.
enum ServeExit {
    /// Schedules `job` ('59 seconds': it runs once, at once), waits until its
    /// run is going, then sends SIGTERM; returns when the signal went.
    static func signal(
        _ serve: ServeProcess, whileRunning job: String, command: String, in database: TestDatabase,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> ContinuousClock.Instant {
        try database.scalar("select api.job_schedule($1, '59 seconds', $2)", [job, command])
        let running = try await JobProbe.waitUntil {
            try JobProbe.runs(database, job: job).contains { $0.status == "running" }
        }
        try #require(running, "\(job) never started:\n\(serve.log)", sourceLocation: sourceLocation)
        let signalled = ContinuousClock.now
        kill(serve.pid, SIGTERM)
        return signalled
    }

    /// Polls until `process` has exited (a zombie waiting for this process to
    /// reap it), at most until `since + within`; then reaps it and returns its
    /// exit status and how long after `since` it had exited. Nil when it is
    /// still running at the deadline (the caller's `stop(signal: SIGKILL)` ends it).
    static func wait(for process: ServeProcess, within: Duration, since: ContinuousClock.Instant) async throws -> (
        status: Int32, took: Duration
    )? {
        while ContinuousClock.now - since < within {
            if isZombie(process.pid) {
                let took = ContinuousClock.now - since
                return (process.stop(), took)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// The process state in /proc/PID/stat is Z: it has exited, unreaped.
    private static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: end)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}
