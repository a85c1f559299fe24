import Logging
import NIOPosix
import ServiceLifecycle

/// The job scheduler inside `boxoffice serve` (docs/design.md, "The
/// scheduler"), modelled on pg_cron. This type holds its settings and runs it
/// as a service; the loop is `SchedulerLoop`, its bookkeeping `JobPlan`, the
/// stages of its shutdown `ShutdownPlan`, the lock's session
/// `LeaderConnection`, and one run `execute` (Scheduler+Execute.swift).
///
/// - Leader only while it holds `pg_try_advisory_lock(leaderLockKey)` on a
///   connection of its own (not from a pool). Followers try again every
///   `pollInterval`; the lock goes with the leader's session, so when its
///   process or connection dies another instance takes over within about
///   `pollInterval`. When the leader's host vanishes without closing TCP
///   (power loss, partition), only the server can end that session: the
///   leader's session sets PostgreSQL's own keepalives and `tcp_user_timeout`
///   (`LeaderConnection.sessionSetup`), so the server drops it, and the lock, in about
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
///   out) it terminates them at once (`ShutdownPlan`). Only then does it give
///   up the lock, so no other leader starts a job while this one still runs it.
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

    public func run() async {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        let leader = LeaderConnection(conninfo: leaderConninfo, idleSessionTimeout: leaderIdleTimeout, thread: thread)
        await withTaskGroup(of: SchedulerLoop.Event.self) { group in
            group.addTask {
                try? await gracefulShutdown()  // also returns when cancelled
                return .shutdown
            }
            var loop = SchedulerLoop(scheduler: self, leader: leader, inFlight: RunsInFlight())
            await loop.run(group: &group)
            leadership.set(false)
            group.cancelAll()
        }
        await leader.close()
        try? await thread.shutdownGracefully()
        logger.notice("scheduler stopped")
    }
}
