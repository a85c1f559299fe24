import NIOPosix

/// The scheduler's own session, which holds the leader lock. libpq blocks, so
/// every call runs on a thread of its own, one call at a time (the scheduler's
/// loop awaits each of its calls; a run that got no connection records its
/// failure here too, queued behind them on that one thread).
final class LeaderConnection: Sendable {
    private let connection: Connection
    private let thread: NIOThreadPool

    /// A session to `conninfo` (not yet connected: `tryLock` connects) set up
    /// by `sessionSetup(idleSessionTimeout:)`, whose calls run on `thread`.
    init(conninfo: String, idleSessionTimeout: Duration, thread: NIOThreadPool) {
        self.connection = Connection(
            conninfo: conninfo, setup: Self.sessionSetup(idleSessionTimeout: idleSessionTimeout),
            options: Connection.watchful)
        self.thread = thread
    }

    /// Run on every new leader session. The `tcp_*` settings are the
    /// server's side of the connection (user-settable, ignored over a Unix
    /// socket): with nothing to send, the server probes after 5 s of silence,
    /// and with `tcp_user_timeout` set Linux gives up at the next probe
    /// interval; a reply left unacknowledged is given up after 5 s. A vanished
    /// leader's lock is thus free about 6 s after its last packet (it queries
    /// every `pollInterval`), and a follower takes over at its next poll:
    /// measured 4.5 to 6.2 s (bench/scheduler/RESULTS.md), within the 10 s
    /// the takeover is allowed. `idle_session_timeout` (user-settable, any
    /// transport) ends the session of a leader that sent nothing for
    /// `idleSessionTimeout`: a frozen one.
    static func sessionSetup(idleSessionTimeout: Duration) -> [(sql: String, params: [String?])] {
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
