import Foundation
import Testing

@testable import BoxOffice

/// The scheduler's rules, on its bookkeeping (`JobPlan`) with a fake clock:
/// no database needed. The Scheduler service itself (leader lock, runs on its
/// pool, timeouts, shutdown) is tested against a database and real processes
/// in `SchedulerProcessTests` and `SchedulerShutdownTests`.
@Suite("JobPlan: no overlap, coalescing, capacity, reloads")
struct SchedulerTests {
    static let t0 = Date(timeIntervalSince1970: 1_773_136_800)  // 2026-03-10T10:00:00Z

    static func job(_ id: Int64, _ schedule: String, active: Bool = true, command: String = "select 1") -> JobRunner.Job {
        JobRunner.Job(id: id, name: "job\(id)", schedule: schedule, command: command, active: active)
    }

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    @Test("an interval job is due at once; a cron job at its next minute")
    func firstFire() {
        var plan = JobPlan(maxConcurrentRuns: 4)
        plan.load([Self.job(1, "5 seconds"), Self.job(2, "*/15 * * * *")], now: Self.at(20))
        #expect(plan.startDue(now: Self.at(20)).map(\.job.id) == [1])
        #expect(plan.startDue(now: Self.at(899)).isEmpty)
        #expect(plan.startDue(now: Self.at(900)).map(\.job.id) == [2])
    }

    @Test("a job never runs twice at once")
    func noOverlap() {
        var plan = JobPlan(maxConcurrentRuns: 4)
        plan.load([Self.job(1, "1 seconds")], now: Self.t0)
        #expect(plan.startDue(now: Self.t0).count == 1)
        for second in 1...5 {
            #expect(plan.startDue(now: Self.at(Double(second))).isEmpty, "second \(second)")
        }
        #expect(plan.nextDue() == nil)
        #expect(plan.runningCount == 1)
    }

    @Test("runs that fall due meanwhile become one run right after, then the cadence resumes (pg_cron)")
    func coalescing() {
        var plan = JobPlan(maxConcurrentRuns: 4)
        plan.load([Self.job(1, "1 seconds")], now: Self.t0)
        _ = plan.startDue(now: Self.t0)
        _ = plan.startDue(now: Self.at(3))  // due at 1, 2 and 3 while running
        plan.finish(1)
        let again = plan.startDue(now: Self.at(3.5))
        #expect(again.map(\.job.id) == [1])
        #expect(again.first?.due == Self.at(1))
        #expect(plan.startDue(now: Self.at(3.5)).isEmpty)
        plan.finish(1)
        #expect(plan.nextDue() == Self.at(4.5))  // last start + N
    }

    @Test("missed cron minutes coalesce into one run")
    func cronCoalescing() {
        var plan = JobPlan(maxConcurrentRuns: 4)
        plan.load([Self.job(1, "* * * * *")], now: Self.at(-1))
        #expect(plan.startDue(now: Self.t0).count == 1)
        plan.finish(1)
        #expect(plan.startDue(now: Self.at(60)).count == 1)
        // that run goes on until 10:03:30, past 10:02 and 10:03
        #expect(plan.startDue(now: Self.at(180)).isEmpty)
        plan.finish(1)
        #expect(plan.startDue(now: Self.at(210)).count == 1)
        #expect(plan.startDue(now: Self.at(210)).isEmpty)
        plan.finish(1)
        #expect(plan.nextDue() == Self.at(240))
    }

    @Test("an interval job keeps a fixed grid when it starts a little late")
    func grid() {
        var plan = JobPlan(maxConcurrentRuns: 4)
        plan.load([Self.job(1, "2 seconds")], now: Self.t0)
        _ = plan.startDue(now: Self.at(0.004))
        plan.finish(1)
        #expect(plan.nextDue() == Self.at(2))
        _ = plan.startDue(now: Self.at(2.003))
        plan.finish(1)
        #expect(plan.nextDue() == Self.at(4))
    }

    @Test("at most maxConcurrentRuns at once, earliest due first")
    func capacity() {
        var plan = JobPlan(maxConcurrentRuns: 2)
        plan.load((1...4).map { Self.job($0, "1 seconds") }, now: Self.t0)
        #expect(plan.startDue(now: Self.t0).map(\.job.id) == [1, 2])
        #expect(plan.nextDue() == nil)  // full: only a finishing run frees a slot
        #expect(plan.startDue(now: Self.at(0.5)).isEmpty)
        plan.finish(2)
        #expect(plan.startDue(now: Self.at(0.5)).map(\.job.id) == [3])
        plan.finish(1)
        plan.finish(3)
        // job 4 has waited longest (due at 0); 1 and 3 are next due at 1
        #expect(plan.startDue(now: Self.at(1.5)).map(\.job.id) == [4, 1])
    }

    @Test("reloads apply changed schedules and commands, pauses and unschedules")
    func reload() {
        var plan = JobPlan(maxConcurrentRuns: 4)
        plan.load([Self.job(1, "*/5 * * * *"), Self.job(2, "1 seconds"), Self.job(3, "1 seconds")], now: Self.t0)
        _ = plan.startDue(now: Self.t0)  // 2 and 3 start
        plan.finish(3)

        plan.load([
            Self.job(1, "* * * * *", command: "select 2"),  // schedule and command changed
            Self.job(2, "1 seconds", active: false),  // paused while running
            // 3 unscheduled
        ], now: Self.at(10))
        #expect(plan.entries[1]?.job.command == "select 2")
        #expect(plan.nextDue() == Self.at(60))
        #expect(plan.entries[3] == nil)

        plan.finish(2)
        #expect(plan.entries[2] == nil)  // not run again once its run ends
        #expect(plan.startDue(now: Self.at(60)).map(\.job.id) == [1])
    }

    @Test("a job paused and resumed while it runs still never overlaps itself")
    func pauseResumeWhileRunning() {
        var plan = JobPlan(maxConcurrentRuns: 4)
        plan.load([Self.job(1, "1 seconds")], now: Self.t0)
        _ = plan.startDue(now: Self.t0)
        plan.load([Self.job(1, "1 seconds", active: false)], now: Self.at(1))
        plan.load([Self.job(1, "1 seconds")], now: Self.at(2))
        #expect(plan.startDue(now: Self.at(3)).isEmpty)
        plan.finish(1)
        #expect(plan.startDue(now: Self.at(3)).count == 1)
    }

    @Test("a command change alone keeps the next fire time")
    func commandOnly() {
        var plan = JobPlan(maxConcurrentRuns: 4)
        plan.load([Self.job(1, "0 * * * *")], now: Self.t0)
        plan.load([Self.job(1, "0 * * * *", command: "select 3")], now: Self.at(1800))
        #expect(plan.nextDue() == Self.at(3600))
    }

    @Test("a job with a schedule that does not parse is reported and skipped")
    func invalidSchedule() {
        var plan = JobPlan(maxConcurrentRuns: 4)
        let invalid = plan.load([Self.job(1, "61 * * * *"), Self.job(2, "1 seconds")], now: Self.t0)
        #expect(invalid.map(\.job.id) == [1])
        #expect(invalid.first?.error.description == "invalid schedule: minute field '61': 61 is out of range 0-59")
        #expect(plan.startDue(now: Self.t0).map(\.job.id) == [2])
    }
}
