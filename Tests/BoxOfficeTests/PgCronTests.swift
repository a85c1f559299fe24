import Foundation
import Testing

@testable import BoxOffice

/// pg_cron for real (docs/pg_cron.md): the cluster scripts/test
/// starts preloads pg_cron with `cron.database_name = 'cron_test'`. The test
/// creates that database from the migrated template when it is missing,
/// installs the extension there, schedules api.queue_admit() with
/// cron.schedule exactly as the README tells a DBA to, and waits for pg_cron
/// to run it: a succeeded row in cron.job_run_details and a WAITING ticket
/// admitted.
///
/// pg_cron 1.4 (Debian's) has no 'N seconds' schedules, so the job runs every
/// minute and the test may wait up to 75 s for the minute boundary.
///
/// On a cluster whose cron.database_name names a database without the
/// Box Office schema (the `postgres` default, as on a dev cluster), the job is
/// scheduled from there into a fresh test database with
/// cron.schedule_in_database (pg_cron >= 1.4), the other documented way.
@Suite("pg_cron runs the built-in jobs when the DBA prefers it")
struct PgCronTests {
    @Test("a job scheduled with cron.schedule runs api.queue_admit and admits a waiting ticket")
    func cronRunsQueueAdmit() async throws {
        guard let server = TestDatabase.server else { throw TestDatabase.NotConfigured() }
        let postgres = try Connection.open(conninfo: "\(server) dbname=postgres")
        defer { postgres.close() }
        let preload = try postgres.execute("show shared_preload_libraries").scalar ?? ""
        guard preload.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "pg_cron" }) else {
            Issue.record("""
                pg_cron is not preloaded on this cluster (shared_preload_libraries = '\(preload)'): \
                run the tests with scripts/test, whose cluster sets shared_preload_libraries = 'pg_cron,pg_stat_statements' \
                and cron.database_name = 'cron_test' (scripts/lib/cluster.sh), with postgresql-15-cron installed
                """)
            return
        }
        let cronName = try #require(try postgres.execute("select current_setting('cron.database_name')").scalar)

        // the database pg_cron watches: created from the migrated template when missing
        let exists = try postgres.execute("select 1 from pg_database where datname = $1", [cronName]).scalar != nil
        if !exists {
            // TestDatabase.create copies the template under its lock; a fresh
            // database has no sessions, so the rename goes through
            let fresh = try await TestDatabase.create()
            try postgres.run(script: "alter database \(fresh.name) rename to \(cronName)")
        }
        let cronDatabase = TestDatabase(name: cronName, server: server)
        let cron = try cronDatabase.admin()
        defer { cron.close() }
        try cron.run(script: "create extension if not exists pg_cron")
        let version = try cron.execute("select extversion from pg_extension where extname = 'pg_cron'").scalar ?? "?"

        // where the job runs: the cron database itself when it has the schema
        // (scripts/test's cron_test), else a fresh database
        let hasSchema = try cron.execute("select to_regprocedure('api.queue_admit()') is not null").scalar == "t"
        let target = hasSchema ? cronDatabase : try await TestDatabase.create()
        // the README's name; in a shared cron database (several test runs at
        // once on a dev cluster) one per test database, since cron.schedule
        // with a name already taken replaces that job
        let jobName = hasSchema ? "boxoffice-queue-admit" : "boxoffice-queue-admit-\(target.name)"

        // a WAITING ticket for queue_admit to admit
        let concert = try Fixtures.concert(target, dates: 1)
        let userId = try #require(Fixtures.users(target, count: 1).first)
        try target.scalar("select api.setting_set('user_keys', 'optional')")  // a join by userId alone, as a DBA may
        let token = try #require(try target.scalar(
            "select (api.queue_join(user_id => $1::bigint, concert_id => $2::bigint)).body->>'token'",
            [String(userId), String(concert.concertId)]))
        #expect(try ticketStatus(target, token) == "WAITING")

        let jobId: String
        if hasSchema {
            jobId = try #require(try cron.execute(
                "select cron.schedule($1, '* * * * *', 'select api.queue_admit()')", [jobName]).scalar)
        } else {
            jobId = try #require(try cron.execute(
                "select cron.schedule_in_database($1, '* * * * *', 'select api.queue_admit()', $2)", [jobName, target.name]).scalar)
        }
        var unscheduled = false
        defer { if !unscheduled { _ = try? cron.execute("select cron.unschedule($1::bigint)", [jobId]) } }
        #expect(try cron.execute("select schedule, command, active from cron.job where jobid = $1::bigint", [jobId]).rows
                == [["* * * * *", "select api.queue_admit()", "t"]])

        var details: [[String?]] = []
        let ran = try await JobProbe.waitUntil(seconds: 80) {
            details = try cron.execute("""
                select status, return_message from cron.job_run_details
                where jobid = $1::bigint and status in ('succeeded', 'failed') order by runid
                """, [jobId]).rows
            return !details.isEmpty
        }
        try #require(ran, "pg_cron \(version) did not run job \(jobId) within 80 s (cron.database_name = \(cronName))")
        #expect(details.first?[0] == "succeeded", "pg_cron \(version): \(details)")
        #expect(try ticketStatus(target, token) == "ACTIVE", "pg_cron ran queue_admit but the ticket was not admitted")

        #expect(try cron.execute("select cron.unschedule($1::bigint)", [jobId]).scalar == "t")
        unscheduled = true
        #expect(try cron.execute("select count(*) from cron.job where jobid = $1::bigint", [jobId]).scalar == "0")
    }

    private func ticketStatus(_ database: TestDatabase, _ token: String) throws -> String? {
        try database.scalar("select status from app.queue_tickets where token = $1::uuid", [token])
    }
}
