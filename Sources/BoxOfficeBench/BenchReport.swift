import Foundation

/// What `boxoffice bench` prints and writes with --json: one report per
/// scenario, one phase per separately measured part of it.
public struct BenchReport: Codable, Sendable {
    public var scenario: String
    public var target: String
    public var users: Int
    public var startedAt: String
    public var options: [String: String]
    public var phases: [BenchPhaseReport]
    /// CPU time the load generator itself used (user + system), setup included.
    public var loadGeneratorCPUSeconds: Double
}

public struct BenchPhaseReport: Codable, Sendable {
    public var name: String
    public var users: Int
    public var seconds: Double
    public var requests: Int
    /// Requests per second over the phase, every route together.
    public var throughput: Double
    public var all: BenchRouteReport
    public var routes: [BenchRouteReport]
    /// Timings of more than one request (a whole purchase flow).
    public var spans: [BenchRouteReport]
    /// Scenario counts (flows completed, seats sold, retries, ...).
    public var counters: [String: Double]
    public var notes: [String]

    init(
        name: String, users: Int, seconds: Double, recorder: BenchRecorder, counters extra: [String: Double] = [:],
        notes: [String] = []
    ) {
        self.name = name
        self.users = users
        self.seconds = seconds
        requests = recorder.requests
        throughput = seconds > 0 ? Double(requests) / seconds : 0
        routes = recorder.routes.keys.sorted().map { name in
            BenchRouteReport(
                route: name, seconds: seconds, micros: recorder.routes[name]!.micros, statuses: recorder.routes[name]!.statuses)
        }
        var statuses: [Int: Int] = [:]
        for route in recorder.routes.values { statuses.merge(route.statuses, uniquingKeysWith: +) }
        all = BenchRouteReport(
            route: "all", seconds: seconds, micros: recorder.routes.values.flatMap(\.micros), statuses: statuses)
        spans = recorder.spans.keys.sorted().map { name in
            BenchRouteReport(route: name, seconds: seconds, micros: recorder.spans[name]!, statuses: [:])
        }
        counters = recorder.counters.mapValues(Double.init).merging(extra) { $1 }
        self.notes = notes
    }

    func route(_ name: String) -> BenchRouteReport? { routes.first { $0.route == name } }
}

public struct BenchRouteReport: Codable, Sendable {
    public var route: String
    public var count: Int
    public var perSecond: Double
    /// Latencies in milliseconds.
    public var p50: Double
    public var p95: Double
    public var p99: Double
    public var max: Double
    public var mean: Double
    /// Answers by HTTP status ("0": no answer).
    public var statuses: [String: Int]

    init(route: String, seconds: Double, micros: [UInt32], statuses: [Int: Int]) {
        let percentiles = BenchPercentiles(micros)
        self.route = route
        count = micros.count
        perSecond = seconds > 0 ? Double(micros.count) / seconds : 0
        p50 = percentiles.at(0.50)
        p95 = percentiles.at(0.95)
        p99 = percentiles.at(0.99)
        max = percentiles.max
        mean = percentiles.mean
        self.statuses = Dictionary(uniqueKeysWithValues: statuses.map { (String($0.key), $0.value) })
    }
}

extension BenchReport {
    /// The report as aligned text tables, one per phase.
    public var table: String {
        var out = "scenario \(scenario) against \(target), \(users) connections\n"
        for phase in phases {
            out += "\n== \(phase.name): \(phase.users) users, \(String(format: "%.1f", phase.seconds)) s, "
            out += "\(phase.requests) requests, \(String(format: "%.0f", phase.throughput)) req/s\n"
            var rows = [["route", "count", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "statuses"]]
            for route in phase.routes + [phase.all] + phase.spans {
                let statuses = route.statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
                rows.append([
                    route.route, String(route.count), String(format: "%.0f", route.perSecond),
                    String(format: "%.2f", route.p50), String(format: "%.2f", route.p95), String(format: "%.2f", route.p99),
                    String(format: "%.1f", route.max), statuses,
                ])
            }
            let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                out +=
                    row.enumerated().map { index, cell in
                        index == 0 || index == row.count - 1
                            ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                            : String(repeating: " ", count: widths[index] - cell.count) + cell
                    }.joined(separator: "  ") + "\n"
            }
            for (name, value) in phase.counters.sorted(by: { $0.key < $1.key }) {
                out += "  \(name): \(value == value.rounded() ? String(Int(value)) : String(format: "%.3f", value))\n"
            }
            for note in phase.notes { out += "  note: \(note)\n" }
        }
        return out
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
