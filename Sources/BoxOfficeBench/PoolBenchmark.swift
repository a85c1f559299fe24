import BoxOffice
import CLibPQ
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Round trips per second of one statement from async tasks, two ways of
/// keeping libpq's blocking calls off the event loops, both measured
/// (`boxoffice bench pool`, bench/pool/RESULTS.md):
///
/// - `threadPerConnection`: the pool the server uses (`Database`), blocking
///   libpq calls on an NIOThreadPool with one thread per connection.
/// - `nonBlocking`: libpq's asynchronous API (PQsendQueryPrepared, PQflush,
///   PQconsumeInput, PQgetResult) with every connection driven by one thread
///   in poll(); tasks hand it queries and await a continuation.
///
/// Both ways use the same number of connections and tasks, a prepared
/// statement and the first value read into a String. Every round opens its
/// connections afresh, warms up, then measures; the two ways alternate (and
/// swap who goes first each round) so the drift of a shared machine hits both.
public enum PoolBenchmark {
    public enum Way: String, CaseIterable, Codable, Sendable {
        case threadPerConnection = "thread per connection"
        case nonBlocking = "non-blocking, one polling thread"
    }

    /// What to measure: `sql` on `connections` connections from each number
    /// of `tasks`, `rounds` rounds of `seconds` per way after a warm-up.
    public struct Options: Codable, Sendable {
        public var sql = "select 1"
        public var connections = 8
        public var tasks = [8, 32, 128]
        public var seconds = 5.0
        public var warmUpSeconds = 1.0
        public var rounds = 5
        public init() {}
    }

    /// One measured round of one way.
    public struct Round: Codable, Sendable {
        public var way: Way
        public var tasks: Int
        public var round: Int
        public var roundTrips: Int
        public var seconds: Double
        public var perSecond: Double
        /// CPU time per round trip of this process, and of the server's
        /// processes when they run on this machine (read from /proc).
        public var clientMicros: Double
        public var serverMicros: Double?
        /// Context switches of this process per round trip.
        public var clientSwitches: Double
    }

    public static func run(
        _ options: Options, conninfo: String, progress: @Sendable (Round) -> Void = { _ in }
    ) async throws -> Report {
        let server = try ServerCPU(conninfo: conninfo)
        var rounds: [Round] = []
        for tasks in options.tasks {
            for round in 1...options.rounds {
                let ways = round % 2 == 1 ? Way.allCases : Way.allCases.reversed()
                for way in ways {
                    let measured = try await measure(way, tasks: tasks, round: round, options, conninfo: conninfo, server: server)
                    progress(measured)
                    rounds.append(measured)
                }
            }
        }
        return Report(options: options, rounds: rounds)
    }

    private static func measure(
        _ way: Way, tasks: Int, round: Int, _ options: Options, conninfo: String, server: ServerCPU?
    ) async throws -> Round {
        try await withCall(way, options, conninfo: conninfo) { call in
            _ = try await drive(tasks: tasks, seconds: options.warmUpSeconds, call)
            let serverBefore = server?.ticks()
            let clientBefore = usage()
            let (count, seconds) = try await drive(tasks: tasks, seconds: options.seconds, call)
            let client = usage()
            let serverSeconds = serverBefore.flatMap { server?.seconds(since: $0) }
            let perTrip = { (total: Double) in total / Double(max(count, 1)) }
            return Round(
                way: way, tasks: tasks, round: round, roundTrips: count, seconds: seconds, perSecond: Double(count) / seconds,
                clientMicros: perTrip((client.cpu - clientBefore.cpu) * 1e6),
                serverMicros: serverSeconds.map { perTrip($0 * 1e6) },
                clientSwitches: perTrip(Double(client.switches - clientBefore.switches)))
        }
    }

    /// CPU seconds (user + system) and context switches of this process so far.
    private static func usage() -> (cpu: Double, switches: Int) {
        var usage = rusage()
        #if os(Linux)
            _ = getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
            _ = getrusage(RUSAGE_SELF, &usage)
        #endif
        let (user, system) = (usage.ru_utime, usage.ru_stime)
        let cpu = Double(user.tv_sec + system.tv_sec) + Double(user.tv_usec + system.tv_usec) / 1e6
        return (cpu, usage.ru_nvcsw + usage.ru_nivcsw)
    }

    /// Runs `body` with a call that makes one round trip `way`, then closes
    /// the connections whatever happened.
    private static func withCall<T: Sendable>(
        _ way: Way, _ options: Options, conninfo: String,
        _ body: (@escaping @Sendable () async throws -> Void) async throws -> T
    ) async throws -> T {
        let sql = options.sql
        switch way {
        case .threadPerConnection:
            let pool = Database(.init(conninfo: conninfo, poolSize: options.connections, driver: .threads))
            do {
                let result = try await body { _ = try await pool.query(sql).scalar }
                await pool.shutdown()
                return result
            } catch {
                await pool.shutdown()
                throw error
            }
        case .nonBlocking:
            let driver = try NonBlockingDriver(conninfo: conninfo, sql: sql, connections: options.connections)
            async let loopEnded: Void = withCheckedContinuation { ended in
                Thread {
                    driver.loop()
                    ended.resume()
                }.start()
            }
            do {
                let result = try await body { _ = try await driver.roundTrip() }
                driver.stop()
                await loopEnded
                return result
            } catch {
                driver.stop()
                await loopEnded
                throw error
            }
        }
    }

    /// `tasks` tasks calling `call` back to back until `seconds` have passed:
    /// how many calls completed, and the seconds until the last one did.
    private static func drive(
        tasks: Int, seconds: Double, _ call: @escaping @Sendable () async throws -> Void
    ) async throws -> (count: Int, seconds: Double) {
        let start = ContinuousClock.now
        let deadline = start + .seconds(seconds)
        let count = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    var n = 0
                    while ContinuousClock.now < deadline {
                        try await call()
                        n += 1
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        return (count, (ContinuousClock.now - start) / .seconds(1))
    }
}
