import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

public enum IsolationLevel: String, Sendable {
    case readCommitted = "read committed"
    case repeatableRead = "repeatable read"
    case serializable = "serializable"
}

/// A pool of libpq connections, never blocking an event loop. With the
/// `threads` driver every call runs blocking libpq on a thread of an
/// NIOThreadPool with one thread per connection. With the `nonblocking`
/// driver a single statement (`query`) is sent with libpq's asynchronous
/// calls from the calling task and finished by one polling thread for the
/// whole pool (`Poller`), so a request no longer hops to a thread of its own
/// and back; `withConnection` and the transactions still run their
/// (blocking) body on a pool thread.
///
/// Connections open on first use; one whose session broke (its backend was
/// terminated, the server restarted) is reopened before its next use, so only
/// the request that was using it fails. A caller waits at most
/// `acquireTimeout` for a free connection, then gets `PoolUnavailableError`.
/// Callers wait in lanes (`Lane`), so that an admitted fan's hold or payment,
/// and the poll that tells a fan they are admitted, do not queue behind the
/// thousand joins of an on-sale.
///
/// No request can pin a connection: every session runs under `timeouts`
/// (a statement, a lock wait and an idle transaction each end after a few
/// seconds), a caller whose task is cancelled (a request whose client hung
/// up, a run cancelled at shutdown) cancels its statement on the server
/// (PQcancel), and a connection goes back to the pool only outside any
/// transaction: one left in a transaction is rolled back first, and one
/// whose ROLLBACK failed is closed (the next user opens a fresh session),
/// never handed out again.
public final class Database: Sendable {
    /// How the pool drives libpq (DB_DRIVER): see `Database`.
    public enum Driver: String, Sendable, CaseIterable {
        case threads
        case nonblocking
    }

    public struct Configuration: Sendable {
        public var conninfo: String
        public var poolSize: Int
        public var acquireTimeout: TimeAmount
        /// Session timeouts; nil leaves the server's (and the role's) own.
        public var timeouts: Timeouts?
        /// false behind a transaction-mode pooler (DB_PREPARED_STATEMENTS):
        /// statements go unnamed (`Connection.preparesStatements`), and the
        /// pool keeps no session state at all, since the next transaction may
        /// run on another server session: the timeouts then come from
        /// boxoffice_api's own defaults (see `Timeouts`), and the
        /// application_name travels in the startup packet, which PgBouncer
        /// passes on.
        public var preparedStatements: Bool
        public var driver: Driver

        public init(
            conninfo: String, poolSize: Int = 8, acquireTimeout: TimeAmount = .seconds(5), timeouts: Timeouts? = nil,
            preparedStatements: Bool = true, driver: Driver = .threads
        ) {
            self.conninfo = conninfo
            self.poolSize = poolSize
            self.acquireTimeout = acquireTimeout
            self.timeouts = timeouts
            self.preparedStatements = preparedStatements
            self.driver = driver
        }
    }

    /// The server-side limits of one pool's sessions, in whole seconds (0: off):
    /// `statement_timeout`, `lock_timeout`, `idle_in_transaction_session_timeout`.
    /// A statement they end fails with 57014, 55P03 or a lost session, which
    /// the HTTP layer answers 503 UNAVAILABLE with Retry-After.
    ///
    /// They are set twice, so that they hold with or without a pooler in
    /// between: each session sets them when it opens (`setup`), and
    /// `boxoffice serve`/`migrate`, connected as the owner, store the same
    /// values as boxoffice_api's defaults in the database (`ALTER ROLE ... IN
    /// DATABASE ... SET`, `Policy`), which every backend that role opens
    /// starts with: so a transaction-mode pooler (PgBouncer), whose backends
    /// the pool never opens itself, gets them too, and nothing depends on a
    /// session outliving its transaction.
    public struct Timeouts: Sendable, Equatable {
        public var statementSeconds: Int
        public var lockSeconds: Int
        public var idleInTransactionSeconds: Int

        public init(statementSeconds: Int, lockSeconds: Int, idleInTransactionSeconds: Int) {
            self.statementSeconds = statementSeconds
            self.lockSeconds = lockSeconds
            self.idleInTransactionSeconds = idleInTransactionSeconds
        }

        /// The settings as PostgreSQL names and values ("5s", "0" for off).
        public var settings: [(name: String, value: String)] {
            [("statement_timeout", statementSeconds), ("lock_timeout", lockSeconds),
             ("idle_in_transaction_session_timeout", idleInTransactionSeconds)]
                .map { ($0.0, $0.1 == 0 ? "0" : "\($0.1)s") }
        }
    }

    /// Who is served first when every connection is busy. Within a lane,
    /// first come first served. Between lanes, a connection that comes free
    /// goes to the first lane in this order that has a waiter, except that
    /// a lane passed over `passOverLimit` times in a row while it waited
    /// goes next (the last such lane in this order first): no lane starves,
    /// whatever arrives in the others.
    ///
    /// In an on-sale about a thousand requests wait for the pool at any
    /// moment, nearly all of them joins. In one FIFO each of an admitted
    /// fan's five calls (charge, dates, seats, hold, pay) waited behind them,
    /// a third of a second each, while the fan's slot counted against the
    /// cap; and the poll that tells a fan at the front they are admitted
    /// waited as long, so the first admission was seen two seconds after the
    /// doors opened. The lanes serve work in the order it is nearest done:
    ///
    /// - `purchase`: the seats-and-money routes (dates, seats, reservations,
    ///   balance, payments). Admitted fans are few (QUEUE_ACTIVE_CAP per
    ///   concert) and make one call at a time. `/ready` too: a load
    ///   balancer must not take a busy instance out in the middle of a sale.
    /// - `line`: fans already in line: polls, leaves, the event streams'
    ///   reads. Their rate is bounded by X-Poll-Interval
    ///   (api.queue_poll_seconds) for clients that follow it.
    /// - `standard`: everything else: joins, new users, the concert list.
    ///   Joins keep arrival order among themselves, so a join's place in
    ///   line still follows when it reached the server.
    ///
    /// Anyone can call any route (the token is checked by the function,
    /// after the wait), which is why the pass-over limit exists. While every
    /// lane waits, `standard` gets at least one connection in
    /// `passOverLimit + 1` and `line` one in `passOverLimit + 2` (when both
    /// reach the limit together, `standard` goes first).
    public enum Lane: Int, Sendable, CaseIterable {
        case purchase
        case line
        case standard
    }

    /// How many times in a row a waiting lane may be passed over for the
    /// lanes before it.
    static let passOverLimit = 3

    private struct Waiter {
        var continuation: CheckedContinuation<Connection, any Error>
        var deadline: NIODeadline
    }

    /// Waiters queue in arrival order in their lane, so deadlines (arrival
    /// plus the same timeout) never decrease within a lane, and the earliest
    /// of all is the first of some lane: one timer, set for the earliest
    /// first waiter's deadline, serves them all. A timer per waiter cost
    /// about half of the pool's overhead with more tasks than connections
    /// (bench/pool/RESULTS.md).
    private struct State {
        var idle: [Connection]
        var lanes = [CircularBuffer<Waiter>](repeating: [], count: Lane.allCases.count)
        /// Per lane: how many times in a row it was passed over while it waited.
        var passedOver = [Int](repeating: 0, count: Lane.allCases.count)
        var timer: Scheduled<Void>?
        var closed = false

        /// Whom a connection that comes free goes to (see `Lane`).
        mutating func nextWaiter() -> Waiter? {
            guard let first = lanes.indices.first(where: { !lanes[$0].isEmpty }) else { return nil }
            let chosen =
                lanes.indices.last { !lanes[$0].isEmpty && passedOver[$0] >= Database.passOverLimit } ?? first
            for lane in lanes.indices {
                passedOver[lane] = lane == chosen || lanes[lane].isEmpty ? 0 : passedOver[lane] + 1
            }
            return lanes[chosen].removeFirst()
        }

        /// The earliest deadline of any waiter.
        var firstDeadline: NIODeadline? { lanes.compactMap(\.first?.deadline).min() }
    }

    public let configuration: Configuration
    private let threadPool: NIOThreadPool
    /// The `nonblocking` driver's polling thread; nil with `threads`.
    private let poller: Poller?
    private let state: NIOLockedValueBox<State>
    private let logger: Logger

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "boxoffice.db")) {
        self.configuration = configuration
        self.logger = logger
        let sessionTimeouts = configuration.preparedStatements ? (configuration.timeouts?.settings ?? []) : []
        let setup = sessionTimeouts.map { name, value in
            (sql: "select set_config($1, $2, false)", params: [Optional(name), Optional(value)])
        }
        let nonblocking = configuration.driver == .nonblocking
        let connections = (0..<configuration.poolSize).map { _ in
            Connection(
                conninfo: configuration.conninfo, setup: setup, options: ["application_name": "boxoffice"],
                preparesStatements: configuration.preparedStatements, nonblocking: nonblocking)
        }
        poller = nonblocking ? Poller(name: "boxoffice.db.poller") : nil
        state = NIOLockedValueBox(State(idle: connections))
        threadPool = NIOThreadPool(numberOfThreads: configuration.poolSize)
        threadPool.start()
    }

    /// Closes every idle connection and stops the threads. Calls after this fail.
    public func shutdown() async {
        let idle = state.withLockedValue { state -> [Connection] in
            state.closed = true
            state.timer?.cancel()
            state.timer = nil
            let waiters = state.lanes.joined()
            state.lanes = state.lanes.map { _ in [] }
            for waiter in waiters {
                waiter.continuation.resume(throwing: PoolUnavailableError(reason: "the pool is shut down"))
            }
            defer { state.idle.removeAll() }
            return state.idle
        }
        for connection in idle { connection.close() }
        poller?.stop()
        try? await threadPool.shutdownGracefully()
    }

    deinit {
        poller?.stop()
    }

    /// Runs `body` with a connection of its own, on a pool thread. When the
    /// calling task is cancelled meanwhile (its client hung up, the server
    /// shuts down), the statement running on the server is cancelled too (it
    /// fails with 57014), and a call cancelled before `body` started throws
    /// CancellationError without running it. Afterwards the connection is
    /// left outside any transaction, or closed.
    public func withConnection<T: Sendable>(
        lane: Lane = .standard, _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> T {
        let connection = try await acquire(lane)
        defer { release(connection) }
        let call = CallCancellation()
        return try await withTaskCancellationHandler {
            try await onPoolThread {
                do {
                    try connection.reconnectIfBroken()
                } catch {
                    throw PoolUnavailableError(reason: "\(error)")
                }
                let use = connection.beginCancellableUse()
                defer {
                    connection.endCancellableUse()
                    connection.endTransactionOrClose()
                }
                guard call.start(use) else { throw CancellationError() }
                return try body(connection)
            }
        } onCancel: {
            call.cancel(connection)
        }
    }

    /// Where one call on a connection is, for its cancellation handler: a
    /// call cancelled before it starts does not start, and one cancelled
    /// while it runs has its statement cancelled on the server, by the number
    /// of its use (so a late cancel never reaches the next caller).
    private final class CallCancellation: Sendable {
        private enum State {
            case starting
            case running(UInt64)
            case cancelled
        }

        private let state = NIOLockedValueBox(State.starting)

        /// Marks the call running as `use`; false when it was cancelled already.
        func start(_ use: UInt64) -> Bool {
            state.withLockedValue { state in
                if case .cancelled = state { return false }
                state = .running(use)
                return true
            }
        }

        /// From the task's cancellation handler.
        func cancel(_ connection: Connection) {
            let use = state.withLockedValue { state -> UInt64? in
                defer { state = .cancelled }
                if case .running(let use) = state { return use }
                return nil
            }
            // PQcancel opens a connection of its own and waits for it: off
            // the caller's thread, which may be an event loop.
            if let use { DispatchQueue.global().async { connection.cancel(use: use) } }
        }
    }

    /// Runs `work` on a pool thread. Not NIOThreadPool.runIfActive: its
    /// cancellation handler records the id of the work cancelled, and drops
    /// it only when it dequeues that work, so every call cancelled while its
    /// work was running would leave an id behind for good; cancellation is
    /// `withConnection`'s business here.
    private func onPoolThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            threadPool.submit { state in
                switch state {
                case .active: continuation.resume(with: Result(catching: work))
                case .cancelled: continuation.resume(throwing: PoolUnavailableError(reason: "the pool is shut down"))
                }
            }
        }
    }

    /// One statement on any free connection. With the non-blocking driver it
    /// is sent from the caller's task and its answer read by the pool's
    /// poller; cancellation works as in `withConnection`.
    @discardableResult
    public func query(_ sql: String, _ params: [String?] = [], lane: Lane = .standard) async throws -> QueryResult {
        guard let poller else { return try await withConnection(lane: lane) { try $0.execute(sql, params) } }
        let connection = try await acquire(lane)
        defer { release(connection) }
        // The health check reads without blocking; only a reconnect blocks.
        if !connection.isHealthy(checkInput: true) {
            do {
                try await onPoolThread { try connection.connect() }
            } catch {
                throw PoolUnavailableError(reason: "\(error)")
            }
        }
        let call = CallCancellation()
        let result: Result<QueryResult, any Error> = await withTaskCancellationHandler {
            let use = connection.beginCancellableUse()
            defer { connection.endCancellableUse() }
            guard call.start(use) else { return .failure(CancellationError()) }
            do {
                return .success(try await connection.query(sql, params, on: poller))
            } catch {
                return .failure(error)
            }
        } onCancel: {
            call.cancel(connection)
        }
        await leaveIdle(connection)
        return try result.get()
    }

    /// `endTransactionOrClose` for the non-blocking driver: nothing to do,
    /// without leaving the task, when the session is outside any
    /// transaction (the usual case: a single statement); otherwise the
    /// blocking ROLLBACK (or close) on a pool thread.
    private func leaveIdle(_ connection: Connection) async {
        if connection.isIdle { return }
        do {
            try await onPoolThread { connection.endTransactionOrClose() }
        } catch {
            connection.close()  // the pool is shutting down
        }
    }

    /// Runs `body` inside BEGIN ISOLATION LEVEL ... / COMMIT, rolling back
    /// when it throws. A failed COMMIT throws too.
    public func withTransaction<T: Sendable>(
        isolation: IsolationLevel = .readCommitted,
        lane: Lane = .standard,
        _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> T {
        try await withConnection(lane: lane) { connection in
            try connection.run(script: "begin isolation level \(isolation.rawValue)")
            do {
                let result = try body(connection)
                try connection.run(script: "commit")
                return result
            } catch {
                // A session whose ROLLBACK failed is closed: the pool never
                // hands it out again (the next user opens a fresh one).
                if connection.isHealthy() {
                    do { try connection.run(script: "rollback") } catch { connection.close() }
                } else {
                    connection.close()
                }
                throw error
            }
        }
    }

    /// `withTransaction`, retried on serialization failure (40001) and
    /// deadlock (40P01) up to `attempts` times in all, sleeping a random
    /// 20 to 100 % of 5, 10, 20, 40, 80, then 100 ms between attempts (about
    /// half a second of sleep at most). Ten attempts: buyers paying for seats
    /// of one date conflict on shared B-tree pages (SSI locks index pages, not
    /// keys), so an on-sale retries about one payment in two; with six
    /// attempts 4 payments in 4 000 still ran out (BENCHMARKS.md).
    /// `onRetry` sees each failed attempt that is retried, with its number
    /// (1 for the first), for the metrics.
    public func withRetryingTransaction<T: Sendable>(
        isolation: IsolationLevel = .serializable,
        attempts: Int = 10,
        lane: Lane = .standard,
        onRetry: @Sendable (PostgresError, Int) -> Void = { _, _ in },
        _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withTransaction(isolation: isolation, lane: lane, body)
            } catch let error as PostgresError where error.isRetryable && attempt < attempts {
                onRetry(error, attempt)
                let ceiling = min(5.0 * pow(2.0, Double(attempt - 1)), 100)
                try await Task.sleep(for: .milliseconds(Int(Double.random(in: 0.2...1.0) * ceiling)))
                attempt += 1
            }
        }
    }

    /// How many callers wait in each lane, in `Lane` order (for tests).
    var waiting: [Int] { state.withLockedValue { $0.lanes.map(\.count) } }

    private func acquire(_ lane: Lane) async throws -> Connection {
        try await withCheckedThrowingContinuation { continuation in
            state.withLockedValue { state in
                if state.closed {
                    continuation.resume(throwing: PoolUnavailableError(reason: "the pool is shut down"))
                } else if let connection = state.idle.popLast() {
                    continuation.resume(returning: connection)
                } else {
                    let deadline = NIODeadline.now() + configuration.acquireTimeout
                    // a count left from waiters that timed out is not this one's
                    if state.lanes[lane.rawValue].isEmpty { state.passedOver[lane.rawValue] = 0 }
                    state.lanes[lane.rawValue].append(Waiter(continuation: continuation, deadline: deadline))
                    if state.timer == nil { armTimer(&state, for: deadline) }
                }
            }
        }
    }

    private func release(_ connection: Connection) {
        let waiter = state.withLockedValue { state -> Waiter? in
            guard let waiter = state.nextWaiter() else {
                state.idle.append(connection)
                return nil
            }
            return waiter
        }
        waiter?.continuation.resume(returning: connection)
    }

    /// Sets the one timer for `deadline` (the earliest waiter's).
    private func armTimer(_ state: inout State, for deadline: NIODeadline) {
        state.timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(deadline: deadline) {
            self.expireWaiters()
        }
    }

    /// Fails the waiters whose deadline has passed (a prefix of each lane),
    /// then sets the timer for the earliest deadline left.
    private func expireWaiters() {
        let expired = state.withLockedValue { state -> [Waiter] in
            state.timer = nil
            let now = NIODeadline.now()
            var expired: [Waiter] = []
            for lane in state.lanes.indices {
                while let first = state.lanes[lane].first, first.deadline <= now {
                    expired.append(state.lanes[lane].removeFirst())
                }
            }
            if let next = state.firstDeadline, !state.closed { armTimer(&state, for: next) }
            return expired
        }
        let error = PoolUnavailableError(
            reason: "no free connection within \(configuration.acquireTimeout.nanoseconds / 1_000_000) ms")
        for waiter in expired { waiter.continuation.resume(throwing: error) }
    }
}
