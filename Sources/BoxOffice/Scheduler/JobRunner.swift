import Foundation

/// One run of one job, recorded in app.job_runs: `api.job_run_start`, the
/// job's command in its own transaction under a statement timeout (a `CALL`
/// outside one, since its procedure commits as it goes), then
/// `api.job_run_finish` with the outcome. Used by the scheduler and by
/// `boxoffice jobs run NAME`.
public enum JobRunner {
    public struct Job: Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var schedule: String
        public var command: String
        public var active: Bool

        /// A `CALL` of a procedure that commits as it goes, run outside a
        /// transaction block.
        public var isProcedureCall: Bool {
            command.drop { $0.isWhitespace }.prefix(5).lowercased() == "call "
        }
    }

    public struct Outcome: Sendable {
        public var succeeded: Bool
        public var message: String?
    }

    /// The jobs of app.jobs, through `api.job_list()`.
    public static func jobs(connection: Connection) throws -> [Job] {
        let rows = try connection.execute(
            """
            select (j->>'jobId')::bigint, j->>'name', j->>'schedule', j->>'command', (j->>'active')::boolean
            from jsonb_array_elements(api.job_list()->'jobs') j
            """)
        return rows.rows.map { row in
            Job(
                id: Int64(row[0] ?? "") ?? 0, name: row[1] ?? "", schedule: row[2] ?? "", command: row[3] ?? "",
                active: row[4] == "t")
        }
    }

    public static func runNow(name: String, connection: Connection, instance: String, timeoutSeconds: Int) throws -> Outcome {
        guard let job = try jobs(connection: connection).first(where: { $0.name == name }) else {
            throw PostgresError(sqlstate: "CR105", message: "job not found", detail: "no job named \(name)")
        }
        return try run(job, connection: connection, instance: instance, timeoutSeconds: timeoutSeconds)
    }

    /// Runs `job` once on `connection` and records the run. A failing command
    /// is an outcome, not an error: only failing to record the run throws.
    /// `started` is told the run id once `api.job_run_start` has returned it
    /// (the scheduler keeps its own runs when it becomes the leader again).
    /// `whileCommandRuns` is told true just before the command's transaction
    /// and false once it has ended (the scheduler cancels only then, never
    /// the bookkeeping around it).
    ///
    /// The transaction runs under `statement_timeout` and an
    /// `idle_in_transaction_session_timeout` of the same length, so a process
    /// frozen between the command and its commit (SIGSTOP, a paused VM) loses
    /// that session, and the locks the command took, instead of blocking the
    /// next leader's runs of the job for as long as it stays frozen.
    public static func run(
        _ job: Job, connection: Connection, instance: String, timeoutSeconds: Int,
        started: (Int64) -> Void = { _ in }, whileCommandRuns: (Bool) -> Void = { _ in }
    ) throws -> Outcome {
        let runId =
            try connection.execute(
                "select api.job_run_start(job_id => $1::bigint, instance => $2)", [String(job.id), instance]
            ).scalar ?? "0"
        started(Int64(runId) ?? 0)
        var outcome: Outcome
        whileCommandRuns(true)
        do {
            let result: QueryResult
            if job.isProcedureCall {
                // A CALL commits inside (api.queue_admit_run: one transaction
                // per concert), which PostgreSQL allows only outside a
                // transaction block: the timeout is the session's meanwhile.
                try connection.run(script: "set statement_timeout = '\(timeoutSeconds)s'")
                defer { _ = try? connection.run(script: "reset statement_timeout") }
                result = try connection.run(script: job.command)
            } else {
                try connection.run(script: "begin")
                try connection.run(
                    script: "set local statement_timeout = '\(timeoutSeconds)s'; "
                        + "set local idle_in_transaction_session_timeout = '\(timeoutSeconds)s'")
                result = try connection.run(script: job.command)
                try connection.run(script: "commit")
            }
            outcome = Outcome(succeeded: true, message: result.scalar.map { "result: \($0)" } ?? "\(result.affectedRows) row(s)")
        } catch {
            if connection.isHealthy() { _ = try? connection.run(script: "rollback") }
            outcome = Outcome(succeeded: false, message: "\(error)")
        }
        whileCommandRuns(false)
        // A command that broke its session must still have its run recorded.
        try connection.reconnectIfBroken()
        try connection.execute(
            "select api.job_run_finish(run_id => $1::bigint, succeeded => $2::boolean, message => $3)",
            [runId, outcome.succeeded ? "true" : "false", outcome.message])
        return outcome
    }
}
