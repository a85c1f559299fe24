import CoreMetrics
import Foundation
import Logging
import NIOPosix
import ServiceLifecycle

/// The job scheduler inside `boxoffice serve` (DESIGN.md, "The scheduler"),
/// modelled on pg_cron.
///
/// - Leader only while it holds `pg_try_advisory_lock(leaderLockKey)` on a
///   connection of its own (not from a pool). Followers try again every
///   `pollInterval`; the lock goes with the leader's session, so when its
///   process or connection dies another instance takes over within about
///   `pollInterval`. When the leader's host vanishes without closing TCP
///   (power loss, partition), only the server can end that session: the
///   leader's session sets PostgreSQL's own keepalives and `tcp_user_timeout`
///   (`leaderSessionSetup`), so the server drops it, and the lock, in about
///   4 to 6 s (measured) instead of TCP's default two hours. libpq's
///   keepalive options on the same connection (`Connection.watchful`) only
///   make *this* side notice. Neither applies over a Unix socket, and a
///   frozen process (SIGSTOP, VM pause) would keep the lock, since its kernel
///   still answers; so the session also sets `idle_session_timeout` to
///   `leaderIdleTimeout` (by default the greater of 30 s and ten polls; a live
///   leader queries every poll, so is never idle that long), and PostgreSQL
///   ends a frozen leader's session and a follower takes over. Unfrozen, the
///   process finds its session gone (`isAlive`, or the next query fails)
///   before it starts anything more, and carries on as a follower.
/// - The leader reloads `api.job_list()` every `pollInterval` (this is also
///   its check that the lock's connection still lives), so jobs changed with
///   `api.job_schedule` / `api.job_alter` apply without a restart.
/// - Each run goes through `JobRunner.run` on a connection of `database`, a
///   pool of the scheduler's own with `maxConcurrentRuns` connections, so an
///   on-sale that keeps the HTTP pool busy cannot starve `queue_admit`:
///   `api.job_run_start`, the command in a transaction under
///   `statement_timeout = jobTimeoutSeconds`, `api.job_run_finish`. A job
///   never overlaps itself, a run that falls due meanwhile is coalesced into
///   one run right after (see `JobPlan`), and at most `maxConcurrentRuns` run
///   at once. A failed run is recorded and logged at `error`; the scheduler
///   carries on. A run that gets no connection at all is recorded as failed
///   through the leader's session.
/// - Runs are recorded `running` from the start. pg_cron writes `starting`
///   first because its launcher inserts the row and a background worker then
///   has to connect before the command begins; here `api.job_run_start` is
///   called on the very session that runs the command, one round trip before
///   it, so a `starting` row would say nothing a `running` one does not.
/// - On graceful shutdown it starts nothing more and waits up to
///   `shutdownGrace` for the runs in progress; then it cancels their
///   statements (`pg_cancel_backend`: each is recorded as a failed run with
///   SQLSTATE 57014), and `cancelGrace` later terminates the sessions of any
///   still going (`pg_terminate_backend`; `JobRunner` records the failure on a
///   new session). Under task cancellation (the server's shutdown bound ran
///   out) it terminates them at once. Only then does it give up the lock, so
///   no other leader starts a job while this one still runs it.
/// - On becoming the leader it marks every open run as failed
///   (`api.job_runs_abandon`), as pg_cron does with its own on restart: only
///   the lock holder starts runs, so they were left by an earlier leader,
///   even one under the same name (a process restarted with a fixed
///   `INSTANCE_NAME`). It keeps only the runs this process still has in flight
///   (`RunsInFlight`: it may lose and regain the lock while they go on); while
///   one of those has not got its run id yet, it waits for the next poll.
///
/// Schedules are evaluated in UTC (`CronSchedule`).
public struct Scheduler: Service {
    /// The advisory lock key, "boxoffic" in ASCII. A DBA finds the leader with
    /// `select pid from pg_locks where locktype = 'advisory' and classid = 1651472495
    /// and objid = 1717987683 and granted` (then `pg_stat_activity` for its
    /// application_name, 'boxoffice scheduler').
    public static let leaderLockKey: Int64 = 0x626F_786F_6666_6963

    /// How many different jobs `boxoffice serve` runs at once, and so the size
    /// of the scheduler's pool.
    public static let defaultMaxConcurrentRuns = 4

    /// Run on every new leader session. The `tcp_*` settings are the
    /// server's side of the connection (user-settable, ignored over a Unix
    /// socket): with nothing to send, the server probes after 5 s of silence,
    /// and with `tcp_user_timeout` set Linux gives up at the next probe
    /// interval; a reply left unacknowledged is given up after 5 s. A vanished
    /// leader's lock is thus free about 6 s after its last packet (it queries
    /// every `pollInterval`), and a follower takes over at its next poll:
    /// measured 4.5 to 6.2 s (bench/scheduler/RESULTS.md), within issue 3's 10 s.
    /// `idle_session_timeout` (user-settable, any transport) ends the session
    /// of a leader that sent nothing for `idleSessionTimeout`: a frozen one.
    static func leaderSessionSetup(idleSessionTimeout: Duration) -> [(sql: String, params: [String?])] {
        let (seconds, attoseconds) = idleSessionTimeout.components
        let milliseconds = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        return [
            (sql: "select set_config('application_name', 'boxoffice scheduler', false)", params: []),
            (sql: "select set_config('tcp_keepalives_idle', '5', false)", params: []),
            (sql: "select set_config('tcp_keepalives_interval', '1', false)", params: []),
            (sql: "select set_config('tcp_keepalives_count', '3', false)", params: []),
            (sql: "select set_config('tcp_user_timeout', '5000', false)", params: []),
            (sql: "select set_config('idle_session_timeout', $1, false)", params: [String(milliseconds)]),
        ]
    }

    /// The default `leaderIdleTimeout`: well above the poll interval, so a
    /// live leader (it queries every poll) never reaches it.
    public static func defaultLeaderIdleTimeout(pollInterval: Duration) -> Duration {
        max(.seconds(30), pollInterval * 10)
    }

    let database: Database
    let leaderConninfo: String
    let instance: String
    let jobTimeoutSeconds: Int
    let maxConcurrentRuns: Int
    let pollInterval: Duration
    let leaderIdleTimeout: Duration
    let shutdownGrace: Duration
    let cancelGrace: Duration
    let leadership: Leadership
    let logger: Logger

    /// - Parameters:
    ///   - database: the scheduler's own pool, which the jobs run on (its
    ///     sessions carry the policy settings), with at least
    ///     `maxConcurrentRuns` connections; not the HTTP pool, which an
    ///     on-sale keeps busy. The caller shuts it down after the scheduler.
    ///   - leaderConninfo: libpq conninfo for the lock's own connection, as the
    ///     server's role; a direct connection, not through a transaction-mode pooler.
    ///   - instance: this instance's name, recorded with each run.
    ///   - jobTimeoutSeconds: each run's statement_timeout.
    ///   - maxConcurrentRuns: how many different jobs may run at once.
    ///   - pollInterval: how often followers try for the lock and the leader
    ///     reloads the jobs.
    ///   - leaderIdleTimeout: the leader session's `idle_session_timeout`, after
    ///     which PostgreSQL ends a frozen leader's session and so frees the
    ///     lock; nil: `defaultLeaderIdleTimeout` (30 s at the default poll).
    ///     Kept at least three polls.
    ///   - shutdownGrace: how long shutdown waits for runs before cancelling them.
    ///   - cancelGrace: how long a cancelled run may take to end before its
    ///     session is terminated.
    ///   - leadership: told whether this instance leads, for the leader's
    ///     other work (`WebhookDeliverer`).
    public init(
        database: Database, leaderConninfo: String, instance: String, jobTimeoutSeconds: Int, logger: Logger,
        maxConcurrentRuns: Int = Scheduler.defaultMaxConcurrentRuns, pollInterval: Duration = .seconds(2),
        leaderIdleTimeout: Duration? = nil, shutdownGrace: Duration = .seconds(5), cancelGrace: Duration = .seconds(2),
        leadership: Leadership = Leadership()
    ) {
        self.database = database
        self.leaderConninfo = leaderConninfo
        self.instance = instance
        self.jobTimeoutSeconds = jobTimeoutSeconds
        self.maxConcurrentRuns = max(1, maxConcurrentRuns)
        self.pollInterval = pollInterval
        self.leaderIdleTimeout = max(
            leaderIdleTimeout ?? Self.defaultLeaderIdleTimeout(pollInterval: pollInterval), pollInterval * 3)
        self.shutdownGrace = shutdownGrace
        self.cancelGrace = cancelGrace
        self.leadership = leadership
        var logger = logger
        logger[metadataKey: "instance"] = "\(instance)"
        self.logger = logger
    }

    /// Where a shutdown with runs still going has got to.
    enum StopStage { case waiting, cancelled, terminated }

    enum Event: Sendable {
        case timer(ContinuousClock.Instant)
        case finished(jobID: Int64)
        case shutdown
    }

    public func run() async {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        let leader = LeaderConnection(
            connection: Connection(
                conninfo: leaderConninfo, setup: Self.leaderSessionSetup(idleSessionTimeout: leaderIdleTimeout),
                options: Connection.watchful),
            thread: thread)
        let inFlight = RunsInFlight()

        await withTaskGroup(of: Event.self) { group in
            group.addTask {
                try? await gracefulShutdown()  // also returns when cancelled
                return .shutdown
            }
            await loop(group: &group, leader: leader, inFlight: inFlight)
            leadership.set(false)
            group.cancelAll()
        }
        await leader.close()
        try? await thread.shutdownGracefully()
        logger.notice("scheduler stopped")
    }

    private func loop(group: inout TaskGroup<Event>, leader: LeaderConnection, inFlight: RunsInFlight) async {
        let clock = ContinuousClock()
        var plan = JobPlan(maxConcurrentRuns: maxConcurrentRuns)
        var isLeader = false
        var abandonPending = false  // leading, and the runs an earlier leader left open are not yet failed
        var nextPoll = clock.now
        var failures = 0  // consecutive failed lock attempts, to log the first only
        var reportedInvalid = Set<String>()
        var stopping = false
        var stopStage = StopStage.waiting
        var stopDeadline = clock.now  // when the next stage begins
        var timerAt: ContinuousClock.Instant?

        func loseLeadership(_ reason: String) async {
            logger.warning("scheduler: no longer the leader", metadata: ["reason": "\(reason)"])
            isLeader = false
            leadership.set(false)
            abandonPending = false
            await leader.close()
        }

        while true {
            if !stopping && clock.now >= nextPoll {
                nextPoll = clock.now + pollInterval
                if !isLeader {
                    switch await leader.tryLock() {
                    case .success(true):
                        isLeader = true
                        leadership.set(true)
                        failures = 0
                        logger.notice("scheduler: leading")
                        abandonPending = true
                    case .success(false):
                        failures = 0
                    case .failure(let error):
                        failures += 1
                        if failures == 1 {
                            logger.warning(
                                "scheduler: cannot reach the database for the leader lock", metadata: ["error": "\(error)"])
                        }
                    }
                }
                // The lock passed, so the last leader's session ended: the open
                // runs are over, but for this process's own still in flight.
                if isLeader && abandonPending, let keep = inFlight.runIDs {
                    if case .success(let count) = await leader.abandonRuns(instance: instance, keeping: keep) {
                        abandonPending = false
                        if count > 0 {
                            logger.notice(
                                "scheduler: marked runs left open by the last leader as failed", metadata: ["runs": "\(count)"])
                        }
                    }  // else tried again next poll; a broken session is noticed below
                }
                if isLeader {
                    switch await leader.jobs() {
                    case .success(let jobs):
                        for (job, error) in plan.load(jobs, now: Date()) {
                            // once per job and schedule, not every poll
                            if reportedInvalid.insert("\(job.id) \(job.schedule)").inserted {
                                logger.error(
                                    "scheduler: job skipped, bad schedule", metadata: ["job": "\(job.name)", "error": "\(error)"])
                            }
                        }
                    case .failure(let error):
                        await loseLeadership("\(error)")
                    }
                }
            }

            if isLeader && !stopping {
                if !(await leader.isAlive()) {
                    await loseLeadership("the lock's connection broke")
                } else {
                    let now = Date()
                    for start in plan.startDue(now: now) {
                        let lateness = now.timeIntervalSince(start.due)
                        CoreMetrics.Timer(label: "boxoffice_job_start_lateness", dimensions: [("job", start.job.name)])
                            .recordNanoseconds(Int64(max(0, lateness) * 1e9))
                        inFlight.begin(jobID: start.job.id)
                        group.addTask { await execute(start.job, leader: leader, inFlight: inFlight) }
                    }
                }
            }

            var wake: ContinuousClock.Instant?
            if stopping {
                if plan.runningCount == 0 { return }
                if stopStage != .terminated && (clock.now >= stopDeadline || Task.isCancelled) {
                    let pids = inFlight.backendPIDs
                    if stopStage == .waiting && !Task.isCancelled {
                        logger.warning("scheduler: cancelling runs still going at shutdown", metadata: ["runs": "\(pids.count)"])
                        await leader.signal(backends: pids, terminate: false)
                        stopStage = .cancelled
                        stopDeadline = clock.now + cancelGrace
                    } else {
                        logger.warning(
                            "scheduler: terminating the sessions of runs still going at shutdown",
                            metadata: ["runs": "\(pids.count)"])
                        await leader.signal(backends: pids, terminate: true)
                        stopStage = .terminated
                    }
                }
                wake = stopStage == .terminated ? nil : stopDeadline
            } else {
                wake = nextPoll
                if isLeader, let due = plan.nextDue() {
                    wake = min(nextPoll, clock.now + .seconds(max(0, due.timeIntervalSinceNow)))
                }
            }
            if let wake, !Task.isCancelled, timerAt.map({ wake < $0 }) ?? true {
                timerAt = wake
                group.addTask {
                    try? await Task.sleep(until: wake, clock: clock)
                    return .timer(wake)
                }
            }

            guard let event = await group.next() else { return }
            switch event {
            case .timer(let at):
                if at == timerAt { timerAt = nil }
            case .finished(let jobID):
                plan.finish(jobID)
            case .shutdown:
                stopping = true
                leadership.set(false)  // the leader's other work stops too
                stopDeadline = clock.now + shutdownGrace
                logger.notice("scheduler: stopping", metadata: ["running": "\(plan.runningCount)"])
            }
        }
    }

    /// One run on a connection of the scheduler's pool, recorded in app.job_runs.
    private func execute(_ job: JobRunner.Job, leader: LeaderConnection, inFlight: RunsInFlight) async -> Event {
        defer { inFlight.end(jobID: job.id) }
        let metadata: Logger.Metadata = ["job": "\(job.name)"]
        let instance = instance
        let timeout = jobTimeoutSeconds
        do {
            let outcome = try await database.withConnection { connection in
                defer { inFlight.command(jobID: job.id, backendPID: nil) }
                return try JobRunner.run(
                    job, connection: connection, instance: instance, timeoutSeconds: timeout,
                    started: { inFlight.started(jobID: job.id, runID: $0) },
                    whileCommandRuns: { running in
                        inFlight.command(jobID: job.id, backendPID: running ? connection.backendPID : nil)
                    })
            }
            Metrics.jobRuns(job.name).increment()
            if outcome.succeeded {
                logger.debug("job succeeded", metadata: metadata.merging(["message": "\(outcome.message ?? "")"]) { $1 })
            } else {
                Metrics.jobFailures(job.name).increment()
                logger.error("job failed", metadata: metadata.merging(["error": "\(outcome.message ?? "")"]) { $1 })
            }
        } catch let error as PoolUnavailableError {
            // No session to run it on (none free in time, or the database is
            // unreachable): the run did not start. Record it through the
            // leader's session, which may still work.
            Metrics.jobFailures(job.name).increment()
            let message = "not run, no database connection: \(error)"
            switch await leader.recordFailedRun(jobID: job.id, instance: instance, message: message) {
            case .success:
                logger.error("job failed", metadata: metadata.merging(["error": "\(message)"]) { $1 })
            case .failure(let recording):
                logger.error(
                    "job run not recorded",
                    metadata: metadata.merging(["error": "\(message)", "recording": "\(recording)"]) { $1 })
            }
        } catch {
            Metrics.jobFailures(job.name).increment()
            logger.error("job run not recorded", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
        return .finished(jobID: job.id)
    }
}

/// The scheduler's own session, which holds the leader lock. libpq blocks, so
/// every call runs on a thread of its own, one call at a time (the scheduler's
/// loop awaits each of its calls; a run that got no connection records its
/// failure here too, queued behind them on that one thread).
final class LeaderConnection: Sendable {
    private let connection: Connection
    private let thread: NIOThreadPool

    init(connection: Connection, thread: NIOThreadPool) {
        self.connection = connection
        self.thread = thread
    }

    /// Connects when needed, then tries for the lock without waiting.
    func tryLock() async -> Result<Bool, any Error> {
        await call { connection in
            try connection.reconnectIfBroken()
            let held = try connection.execute("select pg_try_advisory_lock($1::bigint)", [String(Scheduler.leaderLockKey)])
            return held.scalar == "t"
        }
    }

    /// The jobs, through `api.job_list()`.
    func jobs() async -> Result<[JobRunner.Job], any Error> {
        await call { try JobRunner.jobs(connection: $0) }
    }

    /// `api.job_runs_abandon`: fails every open run but `runIDs`, the ones
    /// this process still has in flight; `instance` is the new leader's name.
    func abandonRuns(instance: String, keeping runIDs: [Int64]) async -> Result<Int, any Error> {
        await call { connection in
            let keep = "{" + runIDs.map(String.init).joined(separator: ",") + "}"
            let result = try connection.execute(
                "select api.job_runs_abandon(instance => $1, keep_run_ids => $2::bigint[])", [instance, keep])
            return Int(result.scalar ?? "") ?? 0
        }
    }

    /// Cheap check that the session still lives: reads what the server sent
    /// (a terminated backend says so before it closes the socket) without a
    /// round trip. On the connection's own thread like every other use of it:
    /// libpq connections are not thread-safe, and `recordFailedRun` may be
    /// using it from a run's task at the same moment.
    func isAlive() async -> Bool {
        (try? await call { $0.isHealthy(checkInput: true) }.get()) ?? false
    }

    /// Records a run of `jobID` that never started, as failed with `message`.
    func recordFailedRun(jobID: Int64, instance: String, message: String) async -> Result<Void, any Error> {
        await call { connection in
            try connection.execute(
                """
                select api.job_run_finish(
                  run_id => api.job_run_start(job_id => $1::bigint, instance => $2), succeeded => false, message => $3)
                """, [String(jobID), instance, message])
            return ()
        }
    }

    /// Cancels the running statements of these backends, or terminates their
    /// sessions (same role: allowed).
    func signal(backends pids: [Int32], terminate: Bool) async {
        let function = terminate ? "pg_terminate_backend" : "pg_cancel_backend"
        for pid in pids {
            _ = await call { connection in
                try connection.reconnectIfBroken()
                return try connection.execute("select \(function)($1::integer)", [String(pid)])
            }
        }
    }

    /// Ends the session, which releases the lock.
    func close() async {
        _ = await call { $0.close() }
    }

    private func call<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async -> Result<T, any Error> {
        let connection = connection
        do {
            return .success(try await thread.runIfActive { try body(connection) })
        } catch {
            return .failure(error)
        }
    }
}
