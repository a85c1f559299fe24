import Foundation

extension PoolBenchmark {
    /// What `boxoffice bench pool` prints and writes with --json: every
    /// round, and per number of tasks the medians of each way and their ratio.
    public struct Report: Codable, Sendable {
        public struct Median: Codable, Sendable {
            public var way: Way
            public var perSecond: Double
            public var clientMicros: Double
            public var serverMicros: Double?
            public var clientSwitches: Double
        }
        public struct Level: Codable, Sendable {
            public var tasks: Int
            public var medians: [Median]
            /// Non-blocking over thread per connection, of the median round trips/s.
            public var ratio: Double
        }

        public var options: Options
        public var rounds: [Round]
        public var levels: [Level]

        init(options: Options, rounds: [Round]) {
            self.options = options
            self.rounds = rounds
            func median(_ values: [Double]) -> Double {
                let sorted = values.sorted()
                return sorted.isEmpty ? 0 : (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
            }
            levels = options.tasks.map { tasks in
                let medians = Way.allCases.map { way in
                    let mine = rounds.filter { $0.way == way && $0.tasks == tasks }
                    let server = mine.compactMap(\.serverMicros)
                    return Median(
                        way: way, perSecond: median(mine.map(\.perSecond)), clientMicros: median(mine.map(\.clientMicros)),
                        serverMicros: server.count == mine.count ? median(server) : nil,
                        clientSwitches: median(mine.map(\.clientSwitches)))
                }
                return Level(tasks: tasks, medians: medians, ratio: medians[1].perSecond / max(medians[0].perSecond, 1))
            }
        }

        public var table: String {
            let format = { (value: Double?, digits: Int) in value.map { String(format: "%.\(digits)f", $0) } ?? "-" }
            var rows = [["tasks", "way", "median/s", "rounds/s", "client µs/trip", "server µs/trip", "client switches/trip"]]
            for level in levels {
                for median in level.medians {
                    let each = rounds.filter { $0.way == median.way && $0.tasks == level.tasks }.map { format($0.perSecond, 0) }
                    rows.append([
                        String(level.tasks), median.way.rawValue, format(median.perSecond, 0), each.joined(separator: " "),
                        format(median.clientMicros, 1), format(median.serverMicros, 1), format(median.clientSwitches, 2),
                    ])
                }
                rows.append([
                    String(level.tasks), "ratio non-blocking / thread per connection", format(level.ratio, 2), "", "", "", "",
                ])
            }
            let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
            let lines = rows.map { row in
                row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            }
            let title =
                "\(options.sql): \(options.connections) connections, \(options.rounds) rounds of \(format(options.seconds, 1)) s "
                + "after \(format(options.warmUpSeconds, 1)) s of warm-up each, the ways alternating"
            return ([title] + lines).joined(separator: "\n")
        }

        public func json() throws -> Data {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return try encoder.encode(self)
        }
    }
}
