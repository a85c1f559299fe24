import NIOConcurrencyHelpers

/// The runs this process has going, by job id (a job never overlaps itself),
/// from the moment the scheduler starts one until `JobRunner.run` returns.
/// The scheduler reads it from its loop for two things: the run ids to keep
/// when it becomes the leader again while its own runs still go on
/// (`api.job_runs_abandon(keep_run_ids =>)`), and the backends to cancel or
/// terminate at shutdown.
final class RunsInFlight: Sendable {
    private struct Run {
        /// From `api.job_run_start`; nil until it has returned.
        var runID: Int64?
        /// The session's backend while the job's command runs.
        var backendPID: Int32?
    }

    private let runs = NIOLockedValueBox<[Int64: Run]>([:])

    /// A run of `jobID` is about to start (before it has a connection).
    func begin(jobID: Int64) {
        runs.withLockedValue { $0[jobID] = Run() }
    }

    /// Its row exists: `api.job_run_start` returned `runID`.
    func started(jobID: Int64, runID: Int64) {
        runs.withLockedValue { $0[jobID]?.runID = runID }
    }

    /// The job's command runs on `backendPID` (nil: it has ended).
    func command(jobID: Int64, backendPID: Int32?) {
        runs.withLockedValue { $0[jobID]?.backendPID = backendPID }
    }

    /// The run is over and recorded (or could not be).
    func end(jobID: Int64) {
        runs.withLockedValue { $0[jobID] = nil }
    }

    /// The run ids of every run in flight; nil while one of them has not got
    /// its id yet (its row may exist already, and would be taken for a dead
    /// leader's), so the caller asks again a little later.
    var runIDs: [Int64]? {
        runs.withLockedValue { runs in
            var ids: [Int64] = []
            for run in runs.values {
                guard let id = run.runID else { return nil }
                ids.append(id)
            }
            return ids.sorted()
        }
    }

    /// The backends whose job commands are running now.
    var backendPIDs: [Int32] {
        runs.withLockedValue { $0.values.compactMap(\.backendPID) }
    }
}
