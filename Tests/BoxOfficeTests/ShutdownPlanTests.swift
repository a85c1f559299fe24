import Testing

@testable import BoxOffice

/// The stages of the scheduler's shutdown (`ShutdownPlan`) on instants given
/// by the test: no database, no waiting. The same stages against real
/// processes and real runs are in `SchedulerShutdownTests`.
@Suite("ShutdownPlan: wait, cancel, terminate, and terminate at once when the bound runs out")
struct ShutdownPlanTests {
    static let t0 = ContinuousClock.now

    static func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .seconds(seconds) }

    static func plan() -> ShutdownPlan {
        ShutdownPlan(begun: t0, shutdownGrace: .seconds(5), cancelGrace: .seconds(2))
    }

    @Test("nothing is done to the runs during the shutdown grace, and the loop wakes when it ends")
    func waitsForTheGrace() {
        var plan = Self.plan()
        #expect(plan.nextStep == Self.at(5))
        #expect(plan.step(now: Self.t0, boundReached: false) == nil)
        #expect(plan.step(now: Self.at(4.999), boundReached: false) == nil)
        #expect(plan.stage == .waiting)
        #expect(plan.nextStep == Self.at(5))
    }

    @Test("once the grace is over the statements are cancelled, once, then the sessions terminated a cancel grace later")
    func cancelsThenTerminates() {
        var plan = Self.plan()
        #expect(plan.step(now: Self.at(5), boundReached: false) == .cancel)
        #expect(plan.stage == .cancelled)
        #expect(plan.nextStep == Self.at(7))
        #expect(plan.step(now: Self.at(6), boundReached: false) == nil, "cancelled twice")
        #expect(plan.step(now: Self.at(7), boundReached: false) == .terminate)
        #expect(plan.stage == .terminated)
        #expect(plan.nextStep == nil, "after terminating, only the end of the runs wakes the loop")
        #expect(plan.step(now: Self.at(60), boundReached: false) == nil, "terminated twice")
        #expect(plan.step(now: Self.at(60), boundReached: true) == nil, "terminated twice")
    }

    @Test("the cancel grace counts from when the cancel went, not from when it was due")
    func cancelGraceFromTheCancel() {
        var plan = Self.plan()
        #expect(plan.step(now: Self.at(8), boundReached: false) == .cancel)
        #expect(plan.nextStep == Self.at(10))
        #expect(plan.step(now: Self.at(9), boundReached: false) == nil)
        #expect(plan.step(now: Self.at(10), boundReached: false) == .terminate)
    }

    @Test("when the server's bound runs out while waiting, the sessions are terminated at once, without a cancel")
    func boundWhileWaiting() {
        var plan = Self.plan()
        #expect(plan.step(now: Self.at(1), boundReached: true) == .terminate)
        #expect(plan.stage == .terminated)
        #expect(plan.nextStep == nil)
    }

    @Test("when the server's bound runs out after the cancel, the sessions are terminated before the cancel grace is over")
    func boundAfterCancel() {
        var plan = Self.plan()
        #expect(plan.step(now: Self.at(5), boundReached: false) == .cancel)
        #expect(plan.step(now: Self.at(5.5), boundReached: true) == .terminate)
        #expect(plan.stage == .terminated)
    }

    @Test("with no grace at all, the first step cancels")
    func noGrace() {
        var plan = ShutdownPlan(begun: Self.t0, shutdownGrace: .zero, cancelGrace: .zero)
        #expect(plan.step(now: Self.t0, boundReached: false) == .cancel)
        #expect(plan.step(now: Self.t0, boundReached: false) == .terminate)
    }
}
