import NIOConcurrencyHelpers

/// The bounds of one measured phase: a deadline and a number of requests,
/// whichever comes first, and a stop a scenario can call early (the on-sale
/// stops once every seat is sold). Every request takes one unit first.
final class BenchBudget: Sendable {
    /// Thrown by `take()` when the phase is over; virtual users end on it.
    struct Over: Error {}

    let deadline: ContinuousClock.Instant
    private let state: NIOLockedValueBox<(remaining: Int, stopped: Bool)>

    init(seconds: Double, requests: Int) {
        deadline = .now + .milliseconds(Int64(seconds * 1000))
        state = NIOLockedValueBox((requests, false))
    }

    static func unbounded() -> BenchBudget { BenchBudget(seconds: 86_400, requests: .max) }

    func take() throws {
        let allowed = state.withLockedValue { state -> Bool in
            guard !state.stopped, state.remaining > 0 else { return false }
            state.remaining -= 1
            return true
        }
        guard allowed, ContinuousClock.now < deadline else { throw Over() }
    }

    var isOver: Bool {
        state.withLockedValue { $0.stopped || $0.remaining <= 0 } || ContinuousClock.now >= deadline
    }

    func stop() { state.withLockedValue { $0.stopped = true } }

    /// Sleeps, but not past the deadline; throws `Over` when the phase ends first.
    func sleep(milliseconds: Int) async throws {
        let wake = ContinuousClock.now + .milliseconds(milliseconds)
        if wake >= deadline {
            try await Task.sleep(until: deadline, clock: .continuous)
            throw Over()
        }
        try await Task.sleep(until: wake, clock: .continuous)
        if isOver { throw Over() }
    }
}
