import NIOConcurrencyHelpers
import Testing

@testable import BoxOffice

/// The shared body of a public route (the concert list): computed once per
/// time-to-live, once for many concurrent misses, never cached when it failed.
/// The clock is a test clock, moved by hand: nothing here depends on timing.
@Suite("BodyCache: one answer for everyone, for a while")
struct BodyCacheTests {
    /// A clock that moves only when told to.
    final class TestClock: Sendable {
        private let start = ContinuousClock.now
        private let offset = NIOLockedValueBox(Duration.zero)
        func advance(_ by: Duration) { offset.withLockedValue { $0 += by } }
        var now: ContinuousClock.Instant { start + offset.withLockedValue { $0 } }
    }

    /// A computation that counts its calls and answers "body N".
    final class Source: Sendable {
        let calls = NIOLockedValueBox(0)
        func compute() async throws -> String { "body \(calls.withLockedValue { $0 += 1; return $0 })" }
    }

    @Test("a fresh body is served again; after the time-to-live it is computed anew")
    func expires() async throws {
        let clock = TestClock()
        let cache = BodyCache(ttl: .seconds(1), now: { clock.now })
        let source = Source()
        #expect(try await cache.body(source.compute) == "body 1")
        clock.advance(.milliseconds(999))
        #expect(try await cache.body(source.compute) == "body 1")
        clock.advance(.milliseconds(1))
        #expect(try await cache.body(source.compute) == "body 2")
        #expect(source.calls.withLockedValue { $0 } == 2)
    }

    @Test("a time-to-live of zero computes every call")
    func zeroDisables() async throws {
        let cache = BodyCache(ttl: .zero)
        let source = Source()
        for n in 1...3 { #expect(try await cache.body(source.compute) == "body \(n)") }
    }

    @Test("a failure is not cached: the next call computes again")
    func failureNotCached() async throws {
        struct Boom: Error {}
        let clock = TestClock()
        let cache = BodyCache(ttl: .seconds(60), now: { clock.now })
        await #expect(throws: Boom.self) { try await cache.body { throw Boom() } }
        let source = Source()
        #expect(try await cache.body(source.compute) == "body 1")
        #expect(try await cache.body(source.compute) == "body 1")
    }

    @Test("a caller cancelled while it computes (its client hung up) does not cancel the computation the others wait for")
    func computingCallerCancelled() async throws {
        let clock = TestClock()
        let cache = BodyCache(ttl: .seconds(60), now: { clock.now })
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let (started, didStart) = AsyncStream.makeStream(of: Void.self)
        let first = Task {
            try await cache.body {
                didStart.yield()
                for await _ in gate { break }
                try Task.checkCancellation()
                return "body"
            }
        }
        for await _ in started { break }
        let waiter = Task { try await cache.body { "computed again" } }
        // Room for the waiter to queue behind the computation under way.
        try await Task.sleep(for: .milliseconds(200))
        first.cancel()
        open.yield()
        open.finish()
        #expect(try await first.value == "body", "the computation was not cancelled with its caller")
        #expect(try await waiter.value == "body")
    }

    @Test("100 concurrent misses compute once and all get that body")
    func singleFlight() async throws {
        let clock = TestClock()
        let cache = BodyCache(ttl: .seconds(60), now: { clock.now })
        let source = Source()
        // The first computation is held until every caller has asked, so the
        // others find it under way (or, if late, the fresh body it left).
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let bodies = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    try await cache.body {
                        for await _ in gate { break }
                        return try await source.compute()
                    }
                }
            }
            open.yield()
            open.finish()
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(bodies.count == 100)
        #expect(Set(bodies) == ["body 1"])
        #expect(source.calls.withLockedValue { $0 } == 1)
    }
}
