import CoreMetrics
import Foundation
import Logging

/// The scheduler's loop and its state, for one `Scheduler.run`. Each turn it
/// polls when `pollInterval` is up (a follower tries for the leader lock, the
/// leader reloads the jobs), the leader starts the runs that are due
/// (`JobPlan`), and once shutdown has begun it starts nothing more and stops
/// the runs still going (`ShutdownPlan`); then it waits for the next event of
/// the task group: a timer, a run that finished, or the shutdown signal.
struct SchedulerLoop {
    enum Event: Sendable {
        case timer(ContinuousClock.Instant)
        case finished(jobID: Int64)
        case shutdown
    }

    private let scheduler: Scheduler
    private let leader: LeaderConnection
    private let inFlight: RunsInFlight
    private let clock = ContinuousClock()
    private var plan: JobPlan
    private var isLeader = false
    /// Leading, and the runs an earlier leader left open are not yet failed.
    private var abandonPending = false
    private var nextPoll: ContinuousClock.Instant
    /// Consecutive failed lock attempts, to log the first only.
    private var lockFailures = 0
    /// The jobs (id and schedule) already logged for a bad schedule.
    private var reportedInvalid = Set<String>()
    /// Set when shutdown begins.
    private var shutdown: ShutdownPlan?
    /// When the timer pending in the group fires.
    private var timerAt: ContinuousClock.Instant?

    init(scheduler: Scheduler, leader: LeaderConnection, inFlight: RunsInFlight) {
        self.scheduler = scheduler
        self.leader = leader
        self.inFlight = inFlight
        self.plan = JobPlan(maxConcurrentRuns: scheduler.maxConcurrentRuns)
        self.nextPoll = clock.now
    }

    private var logger: Logger { scheduler.logger }

    /// Returns once shutdown has begun and no run is left going.
    mutating func run(group: inout TaskGroup<Event>) async {
        while true {
            let wake: ContinuousClock.Instant?
            if shutdown == nil {
                if clock.now >= nextPoll { await poll() }
                if isLeader { await startDueRuns(group: &group) }
                wake = nextWake()
            } else {
                if plan.runningCount == 0 { return }
                wake = await stopRunsStillGoing()
            }
            if let wake { setTimer(wake, group: &group) }

            guard let event = await group.next() else { return }
            handle(event)
        }
    }

    /// Every `pollInterval`: a follower tries for the lock; a new leader
    /// fails the runs an earlier one left open; the leader reloads the jobs,
    /// which also checks that the lock's session still lives.
    private mutating func poll() async {
        nextPoll = clock.now + scheduler.pollInterval
        if !isLeader { await tryToLead() }
        if isLeader && abandonPending { await abandonEarlierRuns() }
        if isLeader { await reloadJobs() }
    }

    private mutating func tryToLead() async {
        switch await leader.tryLock() {
        case .success(true):
            isLeader = true
            scheduler.leadership.set(true)
            lockFailures = 0
            logger.notice("scheduler: leading")
            abandonPending = true
        case .success(false):
            lockFailures = 0
        case .failure(let error):
            lockFailures += 1
            if lockFailures == 1 {
                logger.warning("scheduler: cannot reach the database for the leader lock", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The lock passed, so the last leader's session ended: the open runs are
    /// over, but for this process's own still in flight. While one of those
    /// has no run id yet, or the call fails, it tries again next poll (a
    /// broken session is noticed when the jobs are reloaded).
    private mutating func abandonEarlierRuns() async {
        guard let keep = inFlight.runIDs,
            case .success(let count) = await leader.abandonRuns(instance: scheduler.instance, keeping: keep)
        else { return }
        abandonPending = false
        if count > 0 {
            logger.notice("scheduler: marked runs left open by the last leader as failed", metadata: ["runs": "\(count)"])
        }
    }

    private mutating func reloadJobs() async {
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

    /// Starts each run that is due as a task of the group, once the lock's
    /// session is known to live.
    private mutating func startDueRuns(group: inout TaskGroup<Event>) async {
        guard await leader.isAlive() else {
            await loseLeadership("the lock's connection broke")
            return
        }
        let now = Date()
        for start in plan.startDue(now: now) {
            let lateness = now.timeIntervalSince(start.due)
            CoreMetrics.Timer(label: "boxoffice_job_start_lateness", dimensions: [("job", start.job.name)])
                .recordNanoseconds(Int64(max(0, lateness) * 1e9))
            inFlight.begin(jobID: start.job.id)
            let (scheduler, leader, inFlight, job) = (scheduler, leader, inFlight, start.job)
            group.addTask {
                await scheduler.execute(job, leader: leader, inFlight: inFlight)
                return .finished(jobID: job.id)
            }
        }
    }

    private mutating func loseLeadership(_ reason: String) async {
        logger.warning("scheduler: no longer the leader", metadata: ["reason": "\(reason)"])
        isLeader = false
        scheduler.leadership.set(false)
        abandonPending = false
        await leader.close()
    }

    /// The next poll, or the next run due if that comes first.
    private func nextWake() -> ContinuousClock.Instant {
        guard isLeader, let due = plan.nextDue() else { return nextPoll }
        return min(nextPoll, clock.now + .seconds(max(0, due.timeIntervalSinceNow)))
    }

    /// Shutting down: cancels or terminates the runs still going when
    /// `ShutdownPlan` says so. Returns when to look again (nil: only when a
    /// run ends).
    private mutating func stopRunsStillGoing() async -> ContinuousClock.Instant? {
        guard var stopping = shutdown else { return nil }
        let action = stopping.step(now: clock.now, boundReached: Task.isCancelled)
        shutdown = stopping
        let pids = inFlight.backendPIDs
        switch action {
        case .cancel:
            logger.warning("scheduler: cancelling runs still going at shutdown", metadata: ["runs": "\(pids.count)"])
            await leader.signal(backends: pids, terminate: false)
        case .terminate:
            logger.warning(
                "scheduler: terminating the sessions of runs still going at shutdown", metadata: ["runs": "\(pids.count)"])
            await leader.signal(backends: pids, terminate: true)
        case nil:
            break
        }
        return stopping.nextStep
    }

    /// Adds a timer task that wakes the loop at `wake`, unless one already
    /// pending fires no later, or the task is cancelled.
    private mutating func setTimer(_ wake: ContinuousClock.Instant, group: inout TaskGroup<Event>) {
        guard !Task.isCancelled, timerAt.map({ wake < $0 }) ?? true else { return }
        timerAt = wake
        let clock = clock
        group.addTask {
            try? await Task.sleep(until: wake, clock: clock)
            return .timer(wake)
        }
    }

    private mutating func handle(_ event: Event) {
        switch event {
        case .timer(let at):
            if at == timerAt { timerAt = nil }
        case .finished(let jobID):
            plan.finish(jobID)
        case .shutdown:
            shutdown = ShutdownPlan(
                begun: clock.now, shutdownGrace: scheduler.shutdownGrace, cancelGrace: scheduler.cancelGrace)
            scheduler.leadership.set(false)  // the leader's other work stops too
            logger.notice("scheduler: stopping", metadata: ["running": "\(plan.runningCount)"])
        }
    }
}
