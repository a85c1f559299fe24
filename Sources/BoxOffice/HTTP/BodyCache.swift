import NIOConcurrencyHelpers

/// One response body shared by every request of a public route for `ttl`:
/// the concert list, which is the same for everyone and changes only when a
/// concert or date is added or a date passes. During an on-sale every fan
/// loads it; counting each concert's dates on every call was three quarters
/// of the flow's database time (BENCHMARKS.md). A miss is computed once:
/// requests that arrive while it is being computed wait for that answer
/// instead of each asking the database (no stampede when it expires). A
/// failure is not cached; its waiters get the same error. A caller that is
/// cancelled does not cancel the computation it started for the others.
final class BodyCache: Sendable {
    typealias Instant = ContinuousClock.Instant

    private struct State {
        var body: String?
        var expires: Instant
        var waiters: [CheckedContinuation<String?, any Error>]?
    }

    let ttl: Duration
    private let now: @Sendable () -> Instant
    private let state: NIOLockedValueBox<State>

    /// `ttl` zero: every call computes (no caching).
    init(ttl: Duration, now: @escaping @Sendable () -> Instant = { .now }) {
        self.ttl = ttl
        self.now = now
        self.state = NIOLockedValueBox(State(body: nil, expires: now(), waiters: nil))
    }

    /// The cached body while it is fresh, else the one `compute` returns.
    func body(_ compute: @escaping @Sendable () async throws -> String) async throws -> String {
        if ttl <= .zero { return try await compute() }
        // Decided under one lock: answer with the fresh body, wait for the
        // computation under way (it resumes us), or compute here (nil).
        enum Decision { case fresh(String), waiting, compute }
        let cached: String? = try await withCheckedThrowingContinuation { continuation in
            let decision: Decision = state.withLockedValue { state in
                if let body = state.body, now() < state.expires { return .fresh(body) }
                if state.waiters != nil {
                    state.waiters?.append(continuation)
                    return .waiting
                }
                state.waiters = []
                return .compute
            }
            switch decision {
            case .fresh(let body): continuation.resume(returning: body)
            case .waiting: break
            case .compute: continuation.resume(returning: nil)
            }
        }
        if let cached { return cached }

        let result: Result<String, any Error>
        // In a task of its own: others may wait for this answer, and the
        // caller may be cancelled meanwhile (its client hung up).
        do { result = .success(try await Task { try await compute() }.value) } catch { result = .failure(error) }
        let waiters = state.withLockedValue { state in
            if case .success(let body) = result {
                state.body = body
                state.expires = now() + ttl
            }
            defer { state.waiters = nil }
            return state.waiters ?? []
        }
        for waiter in waiters { waiter.resume(with: result.map { Optional($0) }) }
        return try result.get()
    }
}
