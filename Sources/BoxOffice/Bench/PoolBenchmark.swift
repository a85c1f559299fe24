import CLibPQ
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Round trips per second of one statement from async tasks, two ways of
/// keeping libpq's blocking calls off the event loops (issue 2 asks for both,
/// measured; `boxoffice bench pool`, bench/pool/RESULTS.md):
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
            let pool = Database(.init(conninfo: conninfo, poolSize: options.connections))
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

/// CPU time of a PostgreSQL server on this machine: the postmaster's child
/// processes (backends, background workers), from /proc. Nil when the server
/// is elsewhere or /proc cannot be read.
struct ServerCPU: Sendable {
    let postmaster: Int32

    init?(conninfo: String) throws {
        let connection = try Connection.open(conninfo: conninfo)
        defer { connection.close() }
        let backend = connection.backendPID
        guard let stat = ServerCPU.stat(backend), stat.comm == "postgres" else { return nil }
        postmaster = stat.ppid
    }

    /// utime + stime in clock ticks of each child of the postmaster.
    func ticks() -> [Int32: Int] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        var ticks: [Int32: Int] = [:]
        for pid in pids {
            if let stat = ServerCPU.stat(pid), stat.ppid == postmaster { ticks[pid] = stat.ticks }
        }
        return ticks
    }

    func seconds(since before: [Int32: Int]) -> Double {
        let used = ticks().reduce(0) { $0 + $1.value - (before[$1.key] ?? 0) }
        return Double(used) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Fields of /proc/PID/stat; comm may hold spaces, so split after its ')'.
    private static func stat(_ pid: Int32) -> (comm: String, ppid: Int32, ticks: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let ppid = Int32(fields[1]), let user = Int(fields[11]), let system = Int(fields[12])
        else { return nil }
        return (String(text[text.index(after: open)..<close]), ppid, user + system)
    }
}

/// libpq's non-blocking API, complete enough to compare fairly with the
/// pool: the statement prepared once per connection, queries queued in
/// arrival order and sent on whichever connection is idle (PQflush retried
/// when the socket becomes writable), one thread in poll() over every socket,
/// results read until PQgetResult says the query is done, server errors
/// surfaced as PostgresError. A broken connection fails the driver (and every
/// waiting query): a benchmark needs no reconnect.
final class NonBlockingDriver: @unchecked Sendable {
    private typealias Waiter = CheckedContinuation<String?, any Error>
    private struct Slot {
        let conn: OpaquePointer
        var waiter: Waiter?
        var flushing = false
        var value: String?
        var error: PostgresError?
    }

    private static let statement = "pool_bench"
    // The loop thread's alone.
    private var slots: [Slot] = []
    // Shared, under `lock`.
    private let lock = NIOLock()
    private var queue = CircularBuffer<Waiter>()
    private var wakePending = false
    private var failure: PostgresError?
    private let wakeRead: Int32
    private let wakeWrite: Int32

    init(conninfo: String, sql: String, connections: Int) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw PostgresError(sqlstate: nil, message: "pipe failed: errno \(errno)") }
        (wakeRead, wakeWrite) = (fds[0], fds[1])
        for fd in fds { _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
        do {
            for _ in 0..<connections {
                let conn = PQconnectdb(conninfo)
                guard let conn, PQstatus(conn) == CONNECTION_OK else { throw NonBlockingDriver.lost(conn, closing: true) }
                slots.append(Slot(conn: conn))
                let prepared = PQprepare(conn, NonBlockingDriver.statement, sql, 0, nil)
                defer { PQclear(prepared) }
                if let error = NonBlockingDriver.error(prepared, conn) { throw error }
                guard PQsetnonblocking(conn, 1) == 0 else { throw NonBlockingDriver.lost(conn) }
            }
        } catch {
            closeAll()
            throw error
        }
    }

    /// One execution of the prepared statement; its first value.
    func roundTrip() async throws -> String? {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let (failure, wake) = lock.withLock { () -> (PostgresError?, Bool) in
                if let failure = self.failure { return (failure, false) }
                queue.append(waiter)
                defer { wakePending = true }
                return (nil, !wakePending)
            }
            if let failure { waiter.resume(throwing: failure) } else if wake { self.wake() }
        }
    }

    /// Ends `loop()`: waiting queries fail, the connections close.
    func stop() {
        lock.withLock { failure = failure ?? PostgresError(sqlstate: nil, message: "driver stopped") }
        wake()
    }

    /// The polling thread: send queued queries on idle connections, wait for
    /// sockets, flush and read, resume the tasks whose query is done.
    func loop() {
        var fds: [pollfd] = []
        while true {
            let idle = slots.indices.filter { slots[$0].waiter == nil }
            let (failure, taken) = lock.withLock { () -> (PostgresError?, [Waiter]) in
                wakePending = false
                var taken: [Waiter] = []
                while taken.count < idle.count, let waiter = queue.popFirst() { taken.append(waiter) }
                return (self.failure, taken)
            }
            if let failure {
                finish(failure, taken)
                return
            }
            for (i, waiter) in zip(idle, taken) { send(i, waiter) }
            let busy = slots.indices.filter { slots[$0].waiter != nil }
            fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            for i in busy {
                let events = POLLIN | (slots[i].flushing ? POLLOUT : 0)
                fds.append(pollfd(fd: PQsocket(slots[i].conn), events: Int16(events), revents: 0))
            }
            guard poll(&fds, nfds_t(fds.count), -1) > 0 else { continue }  // EINTR
            if fds[0].revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &buffer, buffer.count) > 0 {}
            }
            for (k, i) in busy.enumerated() where fds[k + 1].revents != 0 {
                service(i, readable: Int32(fds[k + 1].revents) & (POLLIN | POLLERR | POLLHUP) != 0)
            }
        }
    }

    private func send(_ i: Int, _ waiter: Waiter) {
        slots[i].waiter = waiter
        let conn = slots[i].conn
        guard PQsendQueryPrepared(conn, NonBlockingDriver.statement, 0, nil, nil, nil, 0) == 1 else { return broken(i) }
        flush(i)
    }

    /// PQflush: 0 all sent, 1 more to send once the socket is writable, -1 failed.
    private func flush(_ i: Int) {
        switch PQflush(slots[i].conn) {
        case 0: slots[i].flushing = false
        case 1: slots[i].flushing = true
        default: broken(i)
        }
    }

    /// The socket is ready: read what came (libpq's docs: consume, then flush
    /// again), then take results while doing so cannot block.
    private func service(_ i: Int, readable: Bool) {
        let conn = slots[i].conn
        if readable, PQconsumeInput(conn) == 0 { return broken(i) }
        if slots[i].flushing { flush(i) }
        while slots[i].waiter != nil, PQisBusy(conn) == 0 {
            guard let result = PQgetResult(conn) else {
                let slot = slots[i]
                slots[i] = Slot(conn: conn)
                if let error = slot.error {
                    slot.waiter?.resume(throwing: error)
                } else {
                    slot.waiter?.resume(returning: slot.value)
                }
                return
            }
            defer { PQclear(result) }
            if let error = NonBlockingDriver.error(result, conn) {
                slots[i].error = error
            } else if PQntuples(result) > 0, PQnfields(result) > 0, PQgetisnull(result, 0, 0) == 0 {
                slots[i].value = String(cString: PQgetvalue(result, 0, 0))
            }
        }
    }

    private func broken(_ i: Int) {
        let error = NonBlockingDriver.lost(slots[i].conn)
        slots[i].waiter?.resume(throwing: error)
        slots[i].waiter = nil
        lock.withLock { failure = failure ?? error }
    }

    private func finish(_ failure: PostgresError, _ taken: [Waiter]) {
        let queued = lock.withLock { () -> [Waiter] in
            defer { queue.removeAll() }
            return Array(queue)
        }
        for waiter in taken + queued + slots.compactMap(\.waiter) { waiter.resume(throwing: failure) }
        closeAll()
    }

    private func closeAll() {
        for slot in slots { PQfinish(slot.conn) }
        slots.removeAll()
        _ = close(wakeRead)
        _ = close(wakeWrite)
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private static func error(_ result: OpaquePointer?, _ conn: OpaquePointer) -> PostgresError? {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK: return nil
        default:
            let field = { (code: Character) in PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) } }
            return PostgresError(sqlstate: field("C"), message: field("M") ?? lost(conn).message, detail: field("D"))
        }
    }

    private static func lost(_ conn: OpaquePointer?, closing: Bool = false) -> PostgresError {
        let text = conn.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? ""
        if closing { PQfinish(conn) }
        let message = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return PostgresError(sqlstate: nil, message: message.isEmpty ? "connection failed" : message, connectionLost: true)
    }
}
