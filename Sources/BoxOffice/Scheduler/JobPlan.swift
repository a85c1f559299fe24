import Foundation

/// The scheduler's bookkeeping, free of I/O so that it can be tested alone:
/// the jobs, when each next falls due, and which are running.
///
/// pg_cron's rules: a job never runs twice at once; when it falls due (once
/// or many times) while it is running, it runs once more as soon as that run
/// ends, then returns to its schedule. An `'N seconds'` job is due N seconds
/// after its last start, on a fixed grid while it keeps up.
struct JobPlan: Sendable {
    struct Entry: Sendable {
        var job: JobRunner.Job
        var schedule: CronSchedule
        var nextFire: Date
        var running = false
        /// Unscheduled or paused while running: dropped when the run ends.
        var removed = false
    }

    /// A run to start: the job and when it fell due (for the lateness figure).
    struct Start: Sendable {
        var job: JobRunner.Job
        var due: Date
    }

    private(set) var entries: [Int64: Entry] = [:]
    let maxConcurrentRuns: Int

    init(maxConcurrentRuns: Int) {
        self.maxConcurrentRuns = max(1, maxConcurrentRuns)
    }

    var runningCount: Int { entries.values.count(where: \.running) }

    /// Brings the plan in line with app.jobs (`api.job_list()`). A new job, or
    /// one whose schedule changed, is due at once for `'N seconds'` and at its
    /// next fire time for a cron schedule; otherwise its next fire time is
    /// kept. Returns the active jobs whose schedules do not parse; they are
    /// left out.
    @discardableResult
    mutating func load(_ jobs: [JobRunner.Job], now: Date) -> [(job: JobRunner.Job, error: CronSchedule.ParseError)] {
        var invalid: [(job: JobRunner.Job, error: CronSchedule.ParseError)] = []
        var seen = Set<Int64>()
        for job in jobs where job.active {
            let schedule: CronSchedule
            do {
                schedule = try CronSchedule(parsing: job.schedule)
            } catch {
                invalid.append((job, error))
                continue
            }
            seen.insert(job.id)
            if var entry = entries[job.id] {
                if entry.schedule != schedule {
                    entry.schedule = schedule
                    entry.nextFire = Self.firstFire(schedule, now: now)
                }
                entry.job = job
                entry.removed = false
                entries[job.id] = entry
            } else {
                entries[job.id] = Entry(job: job, schedule: schedule, nextFire: Self.firstFire(schedule, now: now))
            }
        }
        for (id, entry) in entries where !seen.contains(id) {
            if entry.running {
                entries[id]?.removed = true
            } else {
                entries[id] = nil
            }
        }
        return invalid
    }

    /// The runs to start at `now`, earliest due first, each job marked running
    /// and moved on to its next fire time; never more than the free capacity.
    mutating func startDue(now: Date) -> [Start] {
        let free = maxConcurrentRuns - runningCount
        guard free > 0 else { return [] }
        let due = entries.values
            .filter { !$0.running && !$0.removed && $0.nextFire <= now }
            .sorted { ($0.nextFire, $0.job.id) < ($1.nextFire, $1.job.id) }
            .prefix(free)
        return due.map { entry in
            var started = entry
            started.running = true
            started.nextFire = Self.fireAfterStart(entry.schedule, due: entry.nextFire, now: now)
            entries[entry.job.id] = started
            return Start(job: entry.job, due: entry.nextFire)
        }
    }

    /// Records the end of a run of `jobID`. Call `startDue` next: a job that
    /// fell due meanwhile starts again at once (the coalesced run).
    mutating func finish(_ jobID: Int64) {
        guard let entry = entries[jobID] else { return }
        if entry.removed {
            entries[jobID] = nil
        } else {
            entries[jobID]?.running = false
        }
    }

    /// When `startDue` next has something to start, unless a run ends first:
    /// nil when nothing waits or every run slot is taken.
    func nextDue() -> Date? {
        guard runningCount < maxConcurrentRuns else { return nil }
        return entries.values.filter { !$0.running && !$0.removed }.map(\.nextFire).min()
    }

    private static func firstFire(_ schedule: CronSchedule, now: Date) -> Date {
        schedule.intervalSeconds != nil ? now : schedule.nextFire(after: now)
    }

    /// For `'N seconds'`: the next step of the grid, or N seconds from now
    /// when the grid fell behind (pg_cron: last start + N). For cron: the next
    /// matching minute after now, so missed minutes coalesce.
    private static func fireAfterStart(_ schedule: CronSchedule, due: Date, now: Date) -> Date {
        if schedule.intervalSeconds != nil {
            let onGrid = schedule.nextFire(after: due)
            return onGrid > now ? onGrid : schedule.nextFire(after: now)
        }
        return schedule.nextFire(after: now)
    }
}
