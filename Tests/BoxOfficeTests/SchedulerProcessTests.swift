import Foundation
import Testing

@testable import BoxOffice

/// The scheduler in real `boxoffice serve` processes: one leader
/// across instances, takeover after `kill -9` and after a freeze (SIGSTOP),
/// a restart under the same INSTANCE_NAME, failing jobs, no overlap and
/// coalescing, schedule changes in SQL, SCHEDULER=off and `boxoffice jobs`.
/// Each test has a database of its own; the advisory lock is per database, so
/// tests on other databases never compete for the leadership. Serialized: each
/// test runs one or two servers, and the machine is small.
@Suite("Scheduler processes: one leader, takeover, failures, no overlap", .serialized)
struct SchedulerProcessTests {
    @Test("two instances on one database: exactly one of them runs the jobs")
    func oneLeader() async throws {
        let database = try await TestDatabase.create()
        let alpha = try await ServeProcess(database: database, instance: "alpha")
        defer { alpha.stop() }
        let beta = try await ServeProcess(database: database, instance: "beta")
        defer { beta.stop() }
        let started = try await JobProbe.waitUntil { try !JobProbe.runs(database).isEmpty }
        try #require(started, "no job ran within 30 s:\n\(alpha.log)\n\(beta.log)")

        try await Task.sleep(for: .seconds(15))

        let runs = try JobProbe.runs(database)
        for process in [alpha, beta] {
            #expect(!process.log.contains("scheduler: stopping"), "\(process.instance) was stopped from outside the test:\n\(process.log)")
        }
        let perInstance = Dictionary(grouping: runs, by: \.instance).mapValues(\.count)
        #expect(perInstance.count == 1, "runs per instance: \(perInstance)")
        let leader = try #require(perInstance.keys.first)
        #expect(["alpha", "beta"].contains(leader))
        // the leader keeps going: queue_admit is due every second
        #expect(runs.count { $0.job == "queue_admit" && $0.status == "succeeded" } >= 5, "runs per instance: \(perInstance)")
        let locks = try JobProbe.leaderLocks(database)
        #expect(locks == 1, "\(locks) sessions hold the leader lock; logs:\n\(alpha.log)\n\(beta.log)")
        #expect([alpha, beta].filter { $0.log.contains("scheduler: leading") }.map(\.instance) == [leader])
    }

    @Test("kill -9 of the leader: the other instance runs jobs within 10 s and fails the runs left open")
    func takeoverAfterKill() async throws {
        let database = try await TestDatabase.create()
        let alpha = try await ServeProcess(database: database, instance: "alpha")
        defer { alpha.stop() }
        let alphaLeads = try await JobProbe.waitUntil { try JobProbe.runs(database).contains { $0.instance == "alpha" } }
        try #require(alphaLeads, "alpha ran nothing within 30 s:\n\(alpha.log)")
        let beta = try await ServeProcess(database: database, instance: "beta")
        defer { beta.stop() }

        // a run still going when the leader dies; paused at once so that only
        // the dead leader's run exists
        try database.scalar("select api.job_schedule('sleeper', '59 seconds', 'select pg_sleep(20)')")
        let sleeping = try await JobProbe.waitUntil {
            try JobProbe.runs(database, job: "sleeper").contains { $0.status == "running" && $0.instance == "alpha" }
        }
        try #require(sleeping, "alpha never started sleeper:\n\(alpha.log)")
        try database.scalar("select api.job_alter(name => 'sleeper', active => false)")
        #expect(try JobProbe.runs(database).filter { $0.instance == "beta" }.isEmpty, "beta ran jobs while alpha led")

        let killedAt = try JobProbe.now(database)
        alpha.stop(signal: SIGKILL)
        let tookOver = try await JobProbe.waitUntil { try JobProbe.runs(database).contains { $0.instance == "beta" } }
        try #require(tookOver, "beta ran nothing within 30 s of the kill:\n\(beta.log)")

        let runs = try JobProbe.runs(database)
        let firstBetaStart = try #require(runs.filter { $0.instance == "beta" }.map(\.started).min())
        let takeover = firstBetaStart - killedAt
        #expect(takeover < 10, "beta's first run started \(takeover) s after the kill (database clock)")
        #expect(runs.filter { $0.instance == "alpha" && $0.started > killedAt }.isEmpty)
        #expect(beta.log.contains("scheduler: leading"))

        let sleeper = try JobProbe.runs(database, job: "sleeper")
        #expect(sleeper.count == 1, "\(sleeper)")
        #expect(sleeper.first?.status == "failed")
        #expect(sleeper.first?.finished != nil)
        #expect(sleeper.first?.message?.contains("abandoned: instance alpha") == true, "\(sleeper)")
        // nothing of alpha's is left open, queue_admit runs in flight included
        #expect(runs.filter { $0.instance == "alpha" && ["starting", "running"].contains($0.status) }.isEmpty)
        #expect(try JobProbe.leaderLocks(database) == 1)
    }

    @Test("a run left running under the same INSTANCE_NAME before serve starts (a crash, then a restart) is failed once it leads")
    func restartUnderTheSameName() async throws {
        let database = try await TestDatabase.create()
        try database.scalar("""
            insert into app.job_runs (job_id, instance, status, started_at)
            select j.job_id, 'phoenix', 'running', now() - interval '1 minute' from app.jobs j where j.name = 'job_runs_prune'
            """)
        let phoenix = try await ServeProcess(database: database, instance: "phoenix")
        defer { phoenix.stop() }
        let failed = try await JobProbe.waitUntil {
            try JobProbe.runs(database, job: "job_runs_prune").first?.status == "failed"
        }
        try #require(failed, "the predecessor's run is still open:\n\(phoenix.log)")
        let left = try #require(try JobProbe.runs(database, job: "job_runs_prune").first)
        #expect(left.finished != nil)
        #expect(
            left.message == "abandoned: instance phoenix stopped leading before the run finished; failed by the new leader phoenix",
            "\(left)")
        #expect(phoenix.log.contains("marked runs left open by the last leader as failed"), "\(phoenix.log)")
        // its own runs are its own: none of them is abandoned
        let own = try await JobProbe.waitUntil { try JobProbe.runs(database, job: "queue_admit").count { $0.status == "succeeded" } >= 2 }
        #expect(own, "queue_admit did not run:\n\(phoenix.log)")
        #expect(try JobProbe.runs(database).filter { $0.job != "job_runs_prune" && $0.status == "failed" }.isEmpty)
    }

    @Test("a leader that loses its session and leads again keeps its own runs still in flight")
    func regainKeepsOwnRuns() async throws {
        let database = try await TestDatabase.create()
        let solo = try await ServeProcess(database: database, instance: "solo")
        defer { solo.stop() }
        try database.scalar("select api.job_schedule('sleeper', '59 seconds', 'select pg_sleep(8)')")
        let sleeping = try await JobProbe.waitUntil {
            try JobProbe.runs(database, job: "sleeper").contains { $0.status == "running" }
        }
        try #require(sleeping, "sleeper never started:\n\(solo.log)")
        try database.scalar("select api.job_alter(name => 'sleeper', active => false)")

        // end the lock's session: the lock goes, the sleeper's session (of the job pool) stays
        let ended = try database.scalar("""
            select count(pg_terminate_backend(pid)) from pg_stat_activity
            where application_name = 'boxoffice scheduler' and datname = current_database()
            """)
        #expect(ended == "1")
        let again = try await JobProbe.waitUntil { solo.log.components(separatedBy: "scheduler: leading").count == 3 }
        try #require(again, "solo did not lead again:\n\(solo.log)")
        #expect(solo.log.contains("scheduler: no longer the leader"))

        let finished = try await JobProbe.waitUntil { try JobProbe.runs(database, job: "sleeper").first?.finished != nil }
        try #require(finished, "sleeper did not finish:\n\(solo.log)")
        let sleeper = try JobProbe.runs(database, job: "sleeper")
        #expect(sleeper.map(\.status) == ["succeeded"], "\(sleeper)")
        #expect(try JobProbe.runs(database).filter { $0.message?.hasPrefix("abandoned") == true }.isEmpty)
        #expect(!solo.log.contains("job run not recorded"), "\(solo.log)")
    }

    @Test("a frozen leader (SIGSTOP) loses its session to idle_session_timeout, the other instance takes over, and resumed it follows")
    func frozenLeader() async throws {
        let database = try await TestDatabase.create()
        let alpha = try await ServeProcess(database: database, instance: "alpha")
        defer {
            kill(alpha.pid, SIGCONT)  // a stopped process would never act on the SIGTERM
            alpha.stop()
        }
        let alphaLeads = try await JobProbe.waitUntil { try JobProbe.runs(database).contains { $0.instance == "alpha" } }
        try #require(alphaLeads, "alpha ran nothing within 30 s:\n\(alpha.log)")
        let beta = try await ServeProcess(database: database, instance: "beta")
        defer { beta.stop() }
        try await Task.sleep(for: .seconds(3))
        #expect(try JobProbe.runs(database).filter { $0.instance == "beta" }.isEmpty, "beta ran jobs while alpha led")

        let bound = Scheduler.defaultLeaderIdleTimeout(pollInterval: .seconds(2)) / .seconds(1)  // seconds, as serve's
        let frozenAt = try JobProbe.now(database)
        kill(alpha.pid, SIGSTOP)
        let tookOver = try await JobProbe.waitUntil(seconds: bound + 15) {
            try JobProbe.runs(database).contains { $0.instance == "beta" }
        }
        try #require(tookOver, "beta ran nothing within \(bound + 15) s of freezing alpha:\n\(beta.log)")
        let firstBetaStart = try #require(try JobProbe.runs(database).filter { $0.instance == "beta" }.map(\.started).min())
        let takeover = firstBetaStart - frozenAt
        // the session idles from alpha's last poll, at most 2 s before the freeze
        #expect(takeover > bound - 3 && takeover < bound + 5, "beta took over \(takeover) s after the freeze (bound \(bound) s)")
        #expect(beta.log.contains("scheduler: leading"))

        let resumedAt = try JobProbe.now(database)
        kill(alpha.pid, SIGCONT)
        let noticed = try await JobProbe.waitUntil(seconds: 10) { alpha.log.contains("scheduler: no longer the leader") }
        #expect(noticed, "alpha did not notice it lost the lock:\n\(alpha.log)")
        let mark = try JobProbe.now(database)
        try await Task.sleep(for: .seconds(6))

        let runs = try JobProbe.runs(database)
        #expect(runs.filter { $0.instance == "alpha" && $0.started > resumedAt }.isEmpty, "alpha ran jobs after it was resumed")
        let after = Dictionary(grouping: runs.filter { $0.started > mark }, by: \.instance).mapValues(\.count)
        #expect(after.keys.sorted() == ["beta"], "runs per instance after alpha resumed: \(after)")
        #expect((after["beta"] ?? 0) >= 4, "runs per instance after alpha resumed: \(after)")
        #expect(try JobProbe.leaderLocks(database) == 1)
        #expect(kill(alpha.pid, 0) == 0, "alpha died:\n\(alpha.log)")
        #expect(try await alpha.client.get("/health").status == 200)
        // what alpha had open at the freeze was failed by beta
        #expect(runs.filter { $0.instance == "alpha" && ["starting", "running"].contains($0.status) }.isEmpty, "\(runs)")
    }

    @Test("a failing job records failed runs with the error, and the other jobs go on succeeding")
    func failingJob() async throws {
        let database = try await TestDatabase.create()
        let solo = try await ServeProcess(database: database, instance: "solo")
        defer { solo.stop() }
        try database.scalar("select api.job_schedule('broken', '1 seconds', 'select api.no_such_function()')")

        let failedThrice = try await JobProbe.waitUntil {
            try JobProbe.runs(database, job: "broken").count { $0.status == "failed" } >= 3
        }
        try #require(failedThrice, "broken did not fail three times within 30 s:\n\(solo.log)")
        for run in try JobProbe.runs(database, job: "broken") where run.status != "running" {
            #expect(run.status == "failed")
            #expect(run.finished != nil)
            #expect(run.message?.contains("42883") == true && run.message?.contains("no_such_function") == true,
                    "message: \(run.message ?? "nil")")
        }

        let mark = try JobProbe.now(database)
        let carriesOn = try await JobProbe.waitUntil {
            let runs = try JobProbe.runs(database).filter { $0.started > mark }
            return runs.contains { $0.job == "queue_admit" && $0.status == "succeeded" }
                && runs.contains { $0.job == "broken" && $0.status == "failed" }
        }
        #expect(carriesOn, "after three failures the scheduler stopped:\n\(solo.log)")
        #expect(kill(solo.pid, 0) == 0, "the server died")
        #expect(try await solo.client.get("/health").status == 200)
        #expect(solo.log.contains("job failed"))
        // only broken fails
        #expect(try JobProbe.runs(database).filter { $0.status == "failed" && $0.job != "broken" }.isEmpty)
    }

    @Test("a job slower than its interval never overlaps itself; missed runs coalesce into one run right after")
    func noOverlapAndCoalescing() async throws {
        let database = try await TestDatabase.create()
        let solo = try await ServeProcess(database: database, instance: "solo")
        defer { solo.stop() }
        try database.scalar("select api.job_schedule('sleepy', '1 seconds', 'select pg_sleep(2.5)')")
        func slow(_ run: JobProbe.Run) -> Bool { (run.finished ?? .infinity) - run.started >= 2 }

        let slowRuns = try await JobProbe.waitUntil(seconds: 40) {
            try JobProbe.runs(database, job: "sleepy").count { $0.finished != nil && slow($0) } >= 4
        }
        try #require(slowRuns, "sleepy did not run four times within 40 s:\n\(solo.log)")
        // now quick: the run after the last slow one is the coalesced one,
        // then the job is back on its one-second cadence
        try database.scalar("select api.job_alter(name => 'sleepy', command => 'select 1')")
        let quickRuns = try await JobProbe.waitUntil {
            let runs = try JobProbe.runs(database, job: "sleepy")
            guard let lastSlow = runs.last(where: slow) else { return false }
            return runs.count { $0.started >= lastSlow.started && !slow($0) && $0.finished != nil } >= 3
        }
        try #require(quickRuns, "sleepy did not run quickly three times within 30 s:\n\(solo.log)")
        solo.stop()  // nothing runs from here on

        let runs = try JobProbe.runs(database, job: "sleepy")
        #expect(runs.allSatisfy { $0.status == "succeeded" && $0.finished != nil }, "\(runs)")
        for (earlier, later) in zip(runs, runs.dropFirst()) {
            let finished = earlier.finished ?? .infinity
            #expect(later.started >= finished,
                    "overlap: a run started at \(later.started) while the one from \(earlier.started) went on until \(finished)")
        }
        // back to back: when a slow run ends the next one is overdue and starts
        // at once, not a further tick of the schedule later
        for (earlier, later) in zip(runs, runs.dropFirst()) where slow(earlier) {
            #expect(later.started - (earlier.finished ?? 0) < 1, "gap of \(later.started - (earlier.finished ?? 0)) s after a slow run")
        }
        // coalesced: the ticks missed during the last slow run give one run,
        // not a burst of catch-up runs; the next follows a full interval later
        let lastSlow = try #require(runs.lastIndex(where: slow))
        let after = Array(runs[(lastSlow + 1)...])
        try #require(after.count >= 2)
        #expect(after[1].started - after[0].started >= 0.3,
                "catch-up burst: quick runs at \(after.prefix(3).map(\.started)) right after the slow one ended at \(runs[lastSlow].finished ?? 0)")
    }

    @Test("pausing and resuming a job with api.job_alter applies without a restart")
    func scheduleChangesApply() async throws {
        let database = try await TestDatabase.create()
        let solo = try await ServeProcess(database: database, instance: "solo")
        defer { solo.stop() }
        let running = try await JobProbe.waitUntil { try !JobProbe.runs(database, job: "queue_admit").isEmpty }
        try #require(running, "queue_admit never ran:\n\(solo.log)")

        try database.scalar("select api.job_alter(name => 'queue_admit', active => false)")
        try await Task.sleep(for: .seconds(5))  // the scheduler reloads every 2 s
        let quietFrom = try JobProbe.now(database)
        try await Task.sleep(for: .seconds(5))
        let quiet = try JobProbe.runs(database).filter { $0.started > quietFrom }
        #expect(!quiet.contains { $0.job == "queue_admit" }, "queue_admit ran while paused")
        #expect(quiet.contains { $0.job == "holds_expire" }, "the other jobs stopped too")

        try database.scalar("select api.job_alter(name => 'queue_admit', active => true)")
        let resumedAt = try JobProbe.now(database)
        let resumed = try await JobProbe.waitUntil {
            try JobProbe.runs(database, job: "queue_admit").contains { $0.started > resumedAt }
        }
        #expect(resumed, "queue_admit did not resume within 30 s:\n\(solo.log)")
        #expect(kill(solo.pid, 0) == 0 && solo.log.components(separatedBy: "boxoffice listening").count == 2, "one process, started once")
    }

    @Test("SCHEDULER=off: an instance alone runs no jobs and takes no lock")
    func schedulerOff() async throws {
        let database = try await TestDatabase.create()
        let quiet = try await ServeProcess(database: database, instance: "quiet", environment: ["SCHEDULER": "off"])
        defer { quiet.stop() }
        try await Task.sleep(for: .seconds(5))
        #expect(try JobProbe.runs(database).isEmpty)
        #expect(try JobProbe.leaderLocks(database) == 0)
        #expect(try await quiet.client.get("/health").status == 200)
        #expect(!quiet.log.contains("scheduler"), "\(quiet.log)")
    }

    @Test("boxoffice jobs list, runs and run NAME print the jobs and runs, and a run is recorded")
    func jobsCommand() async throws {
        let database = try await TestDatabase.create()
        func jobs(_ arguments: String...) throws -> [String] {
            let output = try Subprocess.run([
                "/usr/bin/env", "DATABASE_URL=\(database.adminConninfo)", "MIGRATE_DATABASE_URL=",
                "BOXOFFICE_SQL_DIR=\(TestPaths.sql)", "INSTANCE_NAME=cli-test", "LOG_LEVEL=error",
                TestPaths.binary, "jobs",
            ] + arguments)
            return output.split(separator: "\n").map { String($0) }
        }
        func columns(_ line: String) -> [String] {
            line.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }

        let list = try jobs("list")
        #expect(list.count == 6, "\(list)")
        #expect(list.first.map(columns) == ["name", "schedule", "active", "command"])
        let rows = Dictionary(list.dropFirst().map { (columns($0).first ?? "", columns($0)) }) { first, _ in first }
        #expect(rows["queue_admit"] == ["queue_admit", "1 seconds", "true", "call api.queue_admit_run()"])
        #expect(rows["holds_expire"] == ["holds_expire", "2 seconds", "true", "select api.holds_expire()"])
        #expect(rows["tokens_expire"] == ["tokens_expire", "5 seconds", "true", "select api.tokens_expire()"])
        #expect(rows["job_runs_prune"] == ["job_runs_prune", "17 3 * * *", "true", "select api.job_runs_prune()"])
        #expect(rows["outbox_dispatch"] != nil)

        #expect(try jobs("runs") == ["job  status  started  ms  instance  message"])
        #expect(try jobs("run", "queue_admit") == ["succeeded: result: 0"])
        let recorded = try JobProbe.runs(database)
        #expect(recorded.count == 1)
        #expect(recorded.first?.job == "queue_admit")
        #expect(recorded.first?.instance == "cli-test/cli")
        #expect(recorded.first?.status == "succeeded")
        #expect(recorded.first?.message == "result: 0")

        let runs = try jobs("runs")
        #expect(runs.count == 2, "\(runs)")
        let run = runs.last.map(columns) ?? []
        #expect(run.count == 6 && run[0] == "queue_admit" && run[1] == "succeeded" && run[4] == "cli-test/cli"
                && run[5] == "result: 0" && Int(run[3]) != nil && run[2].hasSuffix("Z"), "\(run)")
        #expect(try jobs("runs", "holds_expire") == ["job  status  started  ms  instance  message"])

        // a failing job: exit status 1, the error printed and recorded
        try database.scalar("select api.job_schedule('broken', '1 seconds', 'select api.no_such_function()')")
        let failure = #expect(throws: Subprocess.Failure.self) { try jobs("run", "broken") }
        #expect(failure?.description.contains("failed (1): failed: 42883: function api.no_such_function() does not exist") == true,
                "\(failure?.description ?? "")")
        #expect(try JobProbe.runs(database, job: "broken").map(\.status) == ["failed"])
        // an unknown job: an error, nothing recorded
        let unknown = #expect(throws: Subprocess.Failure.self) { try jobs("run", "no_such_job") }
        #expect(unknown?.description.contains("no_such_job") == true, "\(unknown?.description ?? "")")
        #expect(try JobProbe.runs(database).count == 2)
    }
}

/// Reading app.job_runs and the leader lock, for the scheduler's tests.
enum JobProbe {
    struct Run: Sendable, CustomStringConvertible {
        var job: String
        var instance: String
        var status: String
        /// Epoch seconds, database clock.
        var started: Double
        var finished: Double?
        var message: String?
        var description: String {
            let end = finished.map { String($0) } ?? "…"
            return "\(job)@\(instance) \(status) \(started)-\(end) \(message ?? "")"
        }
    }

    /// Every run (of one job), oldest start first.
    static func runs(_ database: TestDatabase, job: String? = nil) throws -> [Run] {
        let connection = try database.admin()
        defer { connection.close() }
        let rows = try connection.execute("""
            select j.name, r.instance, r.status, extract(epoch from r.started_at)::text,
                   extract(epoch from r.finished_at)::text, r.message
            from app.job_runs r join app.jobs j on j.job_id = r.job_id
            where $1::text is null or j.name = $1::text
            order by r.started_at, r.run_id
            """, [job])
        return rows.rows.map {
            Run(job: $0[0] ?? "", instance: $0[1] ?? "", status: $0[2] ?? "", started: Double($0[3] ?? "") ?? 0,
                finished: $0[4].flatMap(Double.init), message: $0[5])
        }
    }

    /// The database clock, epoch seconds.
    static func now(_ database: TestDatabase) throws -> Double {
        Double(try database.scalar("select extract(epoch from clock_timestamp())::text") ?? "") ?? 0
    }

    /// Sessions holding the scheduler's leader lock in this database.
    static func leaderLocks(_ database: TestDatabase) throws -> Int {
        let key = UInt64(bitPattern: Scheduler.leaderLockKey)
        return Int(try database.scalar("""
            select count(*) from pg_locks
            where locktype = 'advisory' and granted and objsubid = 1
              and database = (select oid from pg_database where datname = current_database())
              and classid::bigint = $1::bigint and objid::bigint = $2::bigint
            """, [String(key >> 32), String(key & 0xFFFF_FFFF)]) ?? "") ?? -1
    }

    /// Polls `condition` until it holds (true) or `seconds` pass (false).
    static func waitUntil(seconds: Double = 30, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if try condition() { return true }
            if Date() > deadline { return false }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
