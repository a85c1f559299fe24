/// What one virtual user saw: per route, every latency (microseconds) and how
/// many answers of each status (0 for a request that got no answer). Each
/// virtual user keeps its own and the phase merges them at the end, so the
/// hot path takes no lock.
struct BenchRecorder: Sendable {
    struct Route: Sendable {
        var micros: [UInt32] = []
        var statuses: [Int: Int] = [:]
    }

    var routes: [String: Route] = [:]
    /// Things a scenario counts (flows completed, seats sold, ...).
    var counters: [String: Int] = [:]
    /// Timings that are not one request (a whole flow, microseconds).
    var spans: [String: [UInt32]] = [:]

    mutating func record(_ route: String, status: Int, micros: UInt32) {
        routes[route, default: Route()].micros.append(micros)
        routes[route, default: Route()].statuses[status, default: 0] += 1
    }

    mutating func count(_ name: String, _ by: Int = 1) {
        counters[name, default: 0] += by
    }

    mutating func span(_ name: String, since started: ContinuousClock.Instant) {
        spans[name, default: []].append(UInt32(clamping: BenchClock.micros(ContinuousClock.now - started)))
    }

    mutating func merge(_ other: BenchRecorder) {
        for (name, route) in other.routes {
            routes[name, default: Route()].micros.append(contentsOf: route.micros)
            routes[name, default: Route()].statuses.merge(route.statuses, uniquingKeysWith: +)
        }
        counters.merge(other.counters, uniquingKeysWith: +)
        spans.merge(other.spans, uniquingKeysWith: +)
    }

    var requests: Int { routes.values.reduce(0) { $0 + $1.micros.count } }
}

/// Latency percentiles over a sorted sample, in milliseconds.
struct BenchPercentiles {
    let sorted: [UInt32]

    init(_ micros: [UInt32]) { sorted = micros.sorted() }

    /// The smallest sample with at least `fraction` of the samples at or below it.
    func at(_ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return Double(sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]) / 1000
    }

    var mean: Double {
        guard !sorted.isEmpty else { return 0 }
        return Double(sorted.reduce(0) { $0 + UInt64($1) }) / Double(sorted.count) / 1000
    }

    var max: Double { Double(sorted.last ?? 0) / 1000 }
}

enum BenchClock {
    static func micros(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// A scenario that cannot run (no concerts seeded, a wrong option).
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
