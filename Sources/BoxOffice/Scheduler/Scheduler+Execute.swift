import Logging

extension Scheduler {
    /// One run on a connection of the scheduler's pool, recorded in app.job_runs.
    func execute(_ job: JobRunner.Job, leader: LeaderConnection, inFlight: RunsInFlight) async {
        defer { inFlight.end(jobID: job.id) }
        let metadata: Logger.Metadata = ["job": "\(job.name)"]
        let instance = instance
        let timeout = jobTimeoutSeconds
        do {
            let outcome = try await database.withConnection { connection in
                defer { inFlight.command(jobID: job.id, backendPID: nil) }
                return try JobRunner.run(
                    job, connection: connection, instance: instance, timeoutSeconds: timeout,
                    started: { inFlight.started(jobID: job.id, runID: $0) },
                    whileCommandRuns: { running in
                        inFlight.command(jobID: job.id, backendPID: running ? connection.backendPID : nil)
                    })
            }
            Metrics.jobRuns(job.name).increment()
            if outcome.succeeded {
                logger.debug("job succeeded", metadata: metadata.merging(["message": "\(outcome.message ?? "")"]) { $1 })
            } else {
                Metrics.jobFailures(job.name).increment()
                logger.error("job failed", metadata: metadata.merging(["error": "\(outcome.message ?? "")"]) { $1 })
            }
        } catch let error as PoolUnavailableError {
            // No session to run it on (none free in time, or the database is
            // unreachable): the run did not start. Record it through the
            // leader's session, which may still work.
            Metrics.jobFailures(job.name).increment()
            let message = "not run, no database connection: \(error)"
            switch await leader.recordFailedRun(jobID: job.id, instance: instance, message: message) {
            case .success:
                logger.error("job failed", metadata: metadata.merging(["error": "\(message)"]) { $1 })
            case .failure(let recording):
                logger.error(
                    "job run not recorded",
                    metadata: metadata.merging(["error": "\(message)", "recording": "\(recording)"]) { $1 })
            }
        } catch {
            Metrics.jobFailures(job.name).increment()
            logger.error("job run not recorded", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }
}
