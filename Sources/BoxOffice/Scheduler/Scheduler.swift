import Foundation
import CoreMetrics
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

/// The job scheduler inside `boxoffice serve` (DESIGN.md, "The scheduler"),
/// modelled on pg_cron.
///
/// - Leader only while it holds `pg_try_advisory_lock(leaderLockKey)` on a
///   connection of its own (not from the pool). Followers try again every
///   `pollInterval`; the lock goes with the leader's session, so when its
///   process or connection dies another instance takes over within about
///   `pollInterval`.
/// - The leader reloads `api.job_list()` every `pollInterval` (this is also
///   its check that the lock's connection still lives), so jobs changed with
///   `api.job_schedule` / `api.job_alter` apply without a restart.
/// - Each run goes through `JobRunner.run` on a pool connection:
///   `api.job_run_start`, the command in a transaction under
///   `statement_timeout = jobTimeoutSeconds`, `api.job_run_finish`. A job
///   never overlaps itself, a run that falls due meanwhile is coalesced into
///   one run right after (see `JobPlan`), and at most `maxConcurrentRuns` run
///   at once. A failed run is recorded and logged at `error`; the scheduler
///   carries on.
/// - On graceful shutdown it starts nothing more, waits up to `shutdownGrace`
///   for the runs in progress, then cancels their statements
///   (`pg_cancel_backend`, recorded as failed runs), and only then gives up
///   the lock.
/// - On becoming the leader it marks the runs other instances left open as
///   failed (`api.job_runs_abandon`), as pg_cron does with its own on restart.
///
/// Schedules are evaluated in UTC (`CronSchedule`).
public struct Scheduler: Service {
    /// The advisory lock key, "boxoffic" in ASCII. A DBA finds the leader with
    /// `select pid from pg_locks where locktype = 'advisory' and classid = 1651472495
    /// and objid = 1717987683 and granted` (then `pg_stat_activity` for its
    /// application_name, 'boxoffice scheduler').
    public static let leaderLockKey: Int64 = 0x626F_786F_6666_6963

    let database: Database
    let leaderConninfo: String
    let instance: String
    let jobTimeoutSeconds: Int
    let maxConcurrentRuns: Int
    let pollInterval: Duration
    let shutdownGrace: Duration
    let logger: Logger

    /// - Parameters:
    ///   - database: the pool the jobs run on (its sessions carry the policy settings).
    ///   - leaderConninfo: libpq conninfo for the lock's own connection, as the
    ///     server's role; a direct connection, not through a transaction-mode pooler.
    ///   - instance: this instance's name, recorded with each run.
    ///   - jobTimeoutSeconds: each run's statement_timeout.
    ///   - maxConcurrentRuns: how many different jobs may run at once; keep it
    ///     below the pool size so HTTP requests keep connections.
    ///   - pollInterval: how often followers try for the lock and the leader
    ///     reloads the jobs.
    ///   - shutdownGrace: how long shutdown waits for runs before cancelling them.
    public init(
        database: Database, leaderConninfo: String, instance: String, jobTimeoutSeconds: Int, logger: Logger,
        maxConcurrentRuns: Int = 4, pollInterval: Duration = .seconds(2), shutdownGrace: Duration = .seconds(10)
    ) {
        self.database = database
        self.leaderConninfo = leaderConninfo
        self.instance = instance
        self.jobTimeoutSeconds = jobTimeoutSeconds
        self.maxConcurrentRuns = max(1, maxConcurrentRuns)
        self.pollInterval = pollInterval
        self.shutdownGrace = shutdownGrace
        var logger = logger
        logger[metadataKey: "instance"] = "\(instance)"
        self.logger = logger
    }

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
                conninfo: leaderConninfo,
                setup: [(sql: "select set_config('application_name', 'boxoffice scheduler', false)", params: [])],
                options: Connection.watchful),
            thread: thread)
        // backend pid of each run's pool connection, by job id, to cancel at shutdown
        let backends = NIOLockedValueBox<[Int64: Int32]>([:])

        await withTaskGroup(of: Event.self) { group in
            group.addTask {
                try? await gracefulShutdown()  // also returns when cancelled
                return .shutdown
            }
            await loop(group: &group, leader: leader, backends: backends)
            group.cancelAll()
        }
        await leader.close()
        try? await thread.shutdownGracefully()
        logger.notice("scheduler stopped")
    }

    private func loop(group: inout TaskGroup<Event>, leader: LeaderConnection, backends: NIOLockedValueBox<[Int64: Int32]>) async {
        let clock = ContinuousClock()
        var plan = JobPlan(maxConcurrentRuns: maxConcurrentRuns)
        var isLeader = false
        var nextPoll = clock.now
        var failures = 0  // consecutive failed lock attempts, to log the first only
        var reportedInvalid = Set<String>()
        var stopping = false
        var stopDeadline = clock.now
        var cancelled = false
        var timerAt: ContinuousClock.Instant?

        func loseLeadership(_ reason: String) async {
            logger.warning("scheduler: no longer the leader", metadata: ["reason": "\(reason)"])
            isLeader = false
            await leader.close()
        }

        while true {
            if !stopping && clock.now >= nextPoll {
                nextPoll = clock.now + pollInterval
                if !isLeader {
                    switch await leader.tryLock() {
                    case .success(true):
                        isLeader = true
                        failures = 0
                        logger.notice("scheduler: leading")
                        // the lock passed, so the last leader's session ended: its open runs are over
                        if case .success(let count) = await leader.abandonRuns(keeping: instance), count > 0 {
                            logger.notice("scheduler: marked runs left open by the last leader as failed", metadata: ["runs": "\(count)"])
                        }
                    case .success(false):
                        failures = 0
                    case .failure(let error):
                        failures += 1
                        if failures == 1 {
                            logger.warning("scheduler: cannot reach the database for the leader lock", metadata: ["error": "\(error)"])
                        }
                    }
                }
                if isLeader {
                    switch await leader.jobs() {
                    case .success(let jobs):
                        for (job, error) in plan.load(jobs, now: Date()) {
                            // once per job and schedule, not every poll
                            if reportedInvalid.insert("\(job.id) \(job.schedule)").inserted {
                                logger.error("scheduler: job skipped, bad schedule", metadata: ["job": "\(job.name)", "error": "\(error)"])
                            }
                        }
                    case .failure(let error):
                        await loseLeadership("\(error)")
                    }
                }
            }

            if isLeader && !stopping {
                if !leader.isAlive() {
                    await loseLeadership("the lock's connection broke")
                } else {
                    let now = Date()
                    for start in plan.startDue(now: now) {
                        let lateness = now.timeIntervalSince(start.due)
                        CoreMetrics.Timer(label: "boxoffice_job_start_lateness", dimensions: [("job", start.job.name)])
                            .recordNanoseconds(Int64(max(0, lateness) * 1e9))
                        group.addTask { await execute(start.job, backends: backends) }
                    }
                }
            }

            var wake: ContinuousClock.Instant?
            if stopping {
                if plan.runningCount == 0 { return }
                if !cancelled && (clock.now >= stopDeadline || Task.isCancelled) {
                    cancelled = true
                    let pids = backends.withLockedValue { Array($0.values) }
                    logger.warning("scheduler: cancelling runs still going at shutdown", metadata: ["runs": "\(pids.count)"])
                    await leader.cancel(backends: pids)
                }
                wake = cancelled ? nil : stopDeadline
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
                stopDeadline = clock.now + shutdownGrace
                logger.notice("scheduler: stopping", metadata: ["running": "\(plan.runningCount)"])
            }
        }
    }

    /// One run on a pool connection, recorded in app.job_runs.
    private func execute(_ job: JobRunner.Job, backends: NIOLockedValueBox<[Int64: Int32]>) async -> Event {
        let metadata: Logger.Metadata = ["job": "\(job.name)"]
        let instance = instance
        let timeout = jobTimeoutSeconds
        do {
            let outcome = try await database.withConnection { connection in
                backends.withLockedValue { $0[job.id] = connection.backendPID }
                defer { backends.withLockedValue { $0[job.id] = nil } }
                return try JobRunner.run(job, connection: connection, instance: instance, timeoutSeconds: timeout)
            }
            Metrics.jobRuns.increment()
            if outcome.succeeded {
                logger.debug("job succeeded", metadata: metadata.merging(["message": "\(outcome.message ?? "")"]) { $1 })
            } else {
                Metrics.jobFailures.increment()
                logger.error("job failed", metadata: metadata.merging(["error": "\(outcome.message ?? "")"]) { $1 })
            }
        } catch {
            Metrics.jobFailures.increment()
            logger.error("job run not recorded", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
        return .finished(jobID: job.id)
    }
}

/// The scheduler's own session, which holds the leader lock. libpq blocks, so
/// every call runs on a thread of its own; calls never overlap (the scheduler
/// awaits each one).
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

    /// `api.job_runs_abandon`: fails the runs other instances left open.
    func abandonRuns(keeping instance: String) async -> Result<Int, any Error> {
        await call { connection in
            let result = try connection.execute("select api.job_runs_abandon(instance => $1)", [instance])
            return Int(result.scalar ?? "") ?? 0
        }
    }

    /// Cheap check that the session still lives: reads what the server sent
    /// (a terminated backend says so before it closes the socket) without a
    /// round trip.
    func isAlive() -> Bool {
        connection.isHealthy(checkInput: true)
    }

    /// Cancels the running statements of these backends (same role: allowed).
    func cancel(backends pids: [Int32]) async {
        for pid in pids {
            _ = await call { connection in
                try connection.reconnectIfBroken()
                return try connection.execute("select pg_cancel_backend($1::integer)", [String(pid)])
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
