import Foundation
import NIOCore
import NIOPosix

/// The scenarios of `boxoffice bench` (BENCHMARKS.md describes each).
public enum BenchScenario: String, CaseIterable, Sendable {
    /// The documents' flow with a real token, user after user.
    case flow
    /// Queue joins (new users) and status polls (existing tokens), apart.
    case queue
    /// Many users after the seats of one date, through the real admission.
    case onsale
    /// Seat holds: distinct seats, then one contested seat.
    case holds
    /// Payments of prepared holds, and how many needed a retry.
    case payments
    /// One route at a time: user create, charge, concert list, dates, seats.
    case calls
    /// `GET /health` alone: the HTTP floor, no database.
    case health
}

public struct BenchOptions: Sendable {
    public var target: BenchTarget
    /// Concurrent virtual users, one keep-alive connection each.
    public var users = 10
    /// Seconds per measured phase.
    public var duration = 10.0
    /// Requests per measured phase, at most.
    public var maxRequests = 2_000_000
    /// Concerts the scenario may use (default: every concert listed).
    public var concerts: [Int64]?
    /// onsale: people after the seats; each connection runs people/users of them.
    public var people = 10_000
    /// onsale: seats on sale (the scenario ends once this many are paid).
    public var seats = 50
    /// onsale: seconds to keep going after the last seat is sold.
    public var drain = 3.0
    /// How often a waiting user polls its ticket.
    public var pollMilliseconds = 200
    /// onsale: a waiting user polls next when the answer's X-Poll-Interval
    /// says (pollMilliseconds when it says nothing), as a client that
    /// follows the server's advice does; false: every pollMilliseconds.
    public var followsPollInterval = true
    /// payments: how many holds to prepare and pay.
    public var count = 2_000
    /// Existing users to use instead of creating them over HTTP (queue, onsale).
    public var userIDs: ClosedRange<Int64>?
    /// Event loop threads of the load generator.
    public var threads = 1

    public init(target: BenchTarget) { self.target = target }

    var described: [String: String] {
        var out = [
            "users": String(users), "duration": String(duration), "maxRequests": String(maxRequests),
            "pollMilliseconds": String(pollMilliseconds), "followsPollInterval": String(followsPollInterval),
            "threads": String(threads),
        ]
        if let concerts {
            out["concerts"] =
                concerts.count > 3 ? "\(concerts.first!)-\(concerts.last!)" : concerts.map(String.init).joined(separator: ",")
        }
        if let userIDs { out["userIDs"] = "\(userIDs.lowerBound)-\(userIDs.upperBound)" }
        return out
    }
}

/// Runs one scenario: opens the connections, runs its phases, closes them.
public enum BenchRunner {
    public static func run(_ scenario: BenchScenario, options: BenchOptions, log: @escaping @Sendable (String) -> Void = { _ in })
        async throws -> BenchReport
    {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.threads))
        let startedAt = ISO8601DateFormatter().string(from: Date())
        let connections: [BenchConnection]
        do {
            connections = try await open(options.users, options.target, group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        let context = BenchContext(options: options, connections: connections, log: log)
        let phases: [BenchPhaseReport]
        do {
            switch scenario {
            case .flow: phases = try await BenchFlow.run(context)
            case .queue: phases = try await BenchQueue.run(context)
            case .onsale: phases = try await BenchOnSale.run(context)
            case .holds: phases = try await BenchHolds.run(context)
            case .payments: phases = try await BenchPayments.run(context)
            case .calls: phases = try await BenchCalls.run(context)
            case .health: phases = try await BenchHealth.run(context)
            }
        } catch {
            for connection in connections { await connection.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        for connection in connections { await connection.close() }
        try? await group.shutdownGracefully()
        return BenchReport(
            scenario: scenario.rawValue, target: options.target.description, users: options.users,
            startedAt: startedAt, options: options.described, phases: phases, loadGeneratorCPUSeconds: cpuSeconds())
    }

    /// User and system CPU time of this process so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
            let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
            let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return 0 }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Opens `count` connections, at most 100 connects in flight (a listen
    /// backlog overrun would cost a SYN retry, a second, per connection).
    static func open(_ count: Int, _ target: BenchTarget, group: any EventLoopGroup) async throws -> [BenchConnection] {
        var opened: [BenchConnection] = []
        var start = 0
        while start < count {
            let batch = min(100, count - start)
            try await withThrowingTaskGroup(of: BenchConnection.self) { tasks in
                for _ in 0..<batch {
                    tasks.addTask { try await BenchConnection.open(target, group: group) }
                }
                for try await connection in tasks { opened.append(connection) }
            }
            start += batch
        }
        return opened
    }
}

/// What a scenario works with: the options, one connection per virtual user,
/// and the phase runner.
struct BenchContext: Sendable {
    let options: BenchOptions
    let connections: [BenchConnection]
    let log: @Sendable (String) -> Void

    /// Runs `body` once per virtual user (index, session) at the same moment,
    /// until the budget ends each one; returns their merged recorders and the
    /// wall time from start until the last one finished.
    func phase(
        seconds: Double? = nil, requests: Int? = nil, users: Int? = nil, budget: BenchBudget? = nil,
        _ body: @escaping @Sendable (Int, inout BenchSession) async throws -> Void
    ) async -> (recorder: BenchRecorder, seconds: Double, failures: [String]) {
        let budget = budget ?? BenchBudget(seconds: seconds ?? options.duration, requests: requests ?? options.maxRequests)
        let used = Array(connections.prefix(users ?? connections.count))
        let started = ContinuousClock.now
        var merged = BenchRecorder()
        var failures: [String] = []
        await withTaskGroup(of: (BenchRecorder, String?).self) { tasks in
            for (index, connection) in used.enumerated() {
                tasks.addTask {
                    var session = BenchSession(connection: connection, budget: budget)
                    do {
                        try await body(index, &session)
                        return (session.recorder, nil)
                    } catch is BenchBudget.Over {
                        return (session.recorder, nil)
                    } catch is CancellationError {
                        return (session.recorder, nil)
                    } catch {
                        return (session.recorder, "\(error)")
                    }
                }
            }
            for await (recorder, failure) in tasks {
                merged.merge(recorder)
                if let failure { failures.append(failure) }
            }
        }
        return (merged, BenchClock.seconds(ContinuousClock.now - started), failures)
    }

    /// Setup work (not measured): `body` per virtual user, unbounded, and
    /// whatever each returns.
    func prepare<T: Sendable>(users: Int? = nil, _ body: @escaping @Sendable (Int, inout BenchSession) async throws -> T)
        async throws -> [T]
    {
        let used = Array(connections.prefix(users ?? connections.count))
        let budget = BenchBudget.unbounded()
        return try await withThrowingTaskGroup(of: (Int, T).self) { tasks in
            for (index, connection) in used.enumerated() {
                tasks.addTask {
                    var session = BenchSession(connection: connection, budget: budget)
                    return (index, try await body(index, &session))
                }
            }
            var results: [(Int, T)] = []
            for try await result in tasks { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// The concerts to use: --concerts, or every concert the server lists.
    func concerts() async throws -> [Int64] {
        if let concerts = options.concerts { return concerts }
        let listed = try await prepare(users: 1) { _, session in try await session.concerts() ?? [] }
        return listed[0].filter { $0.dates > 0 }.map(\.concertId)
    }

    /// A unique enough name for bench users.
    static func name(_ prefix: String, _ a: Int, _ b: Int) -> String { "\(prefix)-\(a)-\(b)" }
}
