/// How the scheduler stops the runs still going at shutdown, free of I/O so
/// that it can be tested alone (like `JobPlan`).
///
/// It waits `shutdownGrace` for them to end; then it cancels their statements
/// (`pg_cancel_backend`: each is recorded as a failed run with SQLSTATE
/// 57014), and `cancelGrace` after that it terminates the sessions of any
/// still going (`pg_terminate_backend`). Once the server's shutdown bound has
/// run out (the scheduler's task is cancelled) it terminates them at once.
/// The scheduler gives up the leader lock only when every run has ended, so
/// no other leader starts a job while this one still runs it.
struct ShutdownPlan: Sendable {
    typealias Instant = ContinuousClock.Instant

    /// Where a shutdown with runs still going has got to.
    enum Stage: Sendable, Equatable { case waiting, cancelled, terminated }

    /// What to do to the runs still going.
    enum Action: Sendable, Equatable {
        /// Cancel their statements.
        case cancel
        /// Terminate their sessions.
        case terminate
    }

    let cancelGrace: Duration
    private(set) var stage = Stage.waiting
    /// When the next stage begins.
    private(set) var deadline: Instant

    /// Shutdown began at `begun`.
    init(begun: Instant, shutdownGrace: Duration, cancelGrace: Duration) {
        self.cancelGrace = cancelGrace
        self.deadline = begun + shutdownGrace
    }

    /// The action due at `now`, if any, moving on to its stage.
    /// `boundReached`: the server's shutdown bound has run out, so nothing
    /// waits any longer. The cancelled stage's grace counts from `now`, when
    /// the cancel is sent.
    mutating func step(now: Instant, boundReached: Bool) -> Action? {
        guard stage != .terminated, now >= deadline || boundReached else { return nil }
        if stage == .waiting && !boundReached {
            stage = .cancelled
            deadline = now + cancelGrace
            return .cancel
        }
        stage = .terminated
        return .terminate
    }

    /// When `step` next has something to do; nil once the sessions are
    /// terminated, when all that is left is to wait for the runs to end.
    var nextStep: Instant? { stage == .terminated ? nil : deadline }
}
