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

/// A pool of libpq connections. libpq blocks, so every call runs on a thread
/// of an NIOThreadPool with one thread per connection, never on an event loop.
/// Connections open on first use; one whose session broke (its backend was
/// terminated, the server restarted) is reopened before its next use, so only
/// the request that was using it fails. A caller waits at most
/// `acquireTimeout` for a free connection, then gets `PoolUnavailableError`.
public final class Database: Sendable {
    public struct Configuration: Sendable {
        public var conninfo: String
        public var poolSize: Int
        public var acquireTimeout: TimeAmount
        /// `boxoffice.<name>` session settings: the policy the SQL reads.
        /// Not set when `preparedStatements` is false (see there).
        public var settings: [String: String]
        /// false behind a transaction-mode pooler (DB_PREPARED_STATEMENTS):
        /// statements go unnamed (`Connection.preparesStatements`), and the
        /// pool keeps no session state at all, since the next transaction may
        /// run on another server session: no `settings`, and the
        /// application_name travels in the startup packet, which PgBouncer
        /// passes on.
        public var preparedStatements: Bool

        public init(
            conninfo: String, poolSize: Int = 8, acquireTimeout: TimeAmount = .seconds(5), settings: [String: String] = [:],
            preparedStatements: Bool = true
        ) {
            self.conninfo = conninfo
            self.poolSize = poolSize
            self.acquireTimeout = acquireTimeout
            self.settings = settings
            self.preparedStatements = preparedStatements
        }
    }

    private struct Waiter {
        var continuation: CheckedContinuation<Connection, any Error>
        var deadline: NIODeadline
    }

    /// Waiters queue in arrival order, so their deadlines (arrival plus the
    /// same timeout) never decrease: one timer, set for the first waiter's
    /// deadline, serves them all. A timer per waiter cost about half of the
    /// pool's overhead with more tasks than connections (bench/pool/RESULTS.md).
    private struct State {
        var idle: [Connection]
        var waiters = CircularBuffer<Waiter>()
        var timer: Scheduled<Void>?
        var closed = false
    }

    public let configuration: Configuration
    private let threadPool: NIOThreadPool
    private let state: NIOLockedValueBox<State>
    private let logger: Logger

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "boxoffice.db")) {
        self.configuration = configuration
        self.logger = logger
        let setup =
            configuration.preparedStatements
            ? configuration.settings.sorted { $0.key < $1.key }.map { key, value in
                (sql: "select set_config($1, $2, false)", params: [Optional("boxoffice.\(key)"), Optional(value)])
            } : []
        let connections = (0..<configuration.poolSize).map { _ in
            Connection(
                conninfo: configuration.conninfo, setup: setup, options: ["application_name": "boxoffice"],
                preparesStatements: configuration.preparedStatements)
        }
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
            let waiters = state.waiters
            state.waiters.removeAll()
            for waiter in waiters {
                waiter.continuation.resume(throwing: PoolUnavailableError(reason: "the pool is shut down"))
            }
            defer { state.idle.removeAll() }
            return state.idle
        }
        for connection in idle { connection.close() }
        try? await threadPool.shutdownGracefully()
    }

    /// Runs `body` with a connection of its own, on a pool thread.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let connection = try await acquire()
        defer { release(connection) }
        return try await threadPool.runIfActive {
            do {
                try connection.reconnectIfBroken()
            } catch {
                throw PoolUnavailableError(reason: "\(error)")
            }
            return try body(connection)
        }
    }

    /// One statement on any free connection.
    @discardableResult
    public func query(_ sql: String, _ params: [String?] = []) async throws -> QueryResult {
        try await withConnection { try $0.execute(sql, params) }
    }

    /// Runs `body` inside BEGIN ISOLATION LEVEL ... / COMMIT, rolling back
    /// when it throws. A failed COMMIT throws too.
    public func withTransaction<T: Sendable>(
        isolation: IsolationLevel = .readCommitted,
        _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try connection.run(script: "begin isolation level \(isolation.rawValue)")
            do {
                let result = try body(connection)
                try connection.run(script: "commit")
                return result
            } catch {
                if connection.isHealthy() { _ = try? connection.run(script: "rollback") }
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
        onRetry: @Sendable (PostgresError, Int) -> Void = { _, _ in },
        _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withTransaction(isolation: isolation, body)
            } catch let error as PostgresError where error.isRetryable && attempt < attempts {
                onRetry(error, attempt)
                let ceiling = min(5.0 * pow(2.0, Double(attempt - 1)), 100)
                try await Task.sleep(for: .milliseconds(Int(Double.random(in: 0.2...1.0) * ceiling)))
                attempt += 1
            }
        }
    }

    private func acquire() async throws -> Connection {
        try await withCheckedThrowingContinuation { continuation in
            state.withLockedValue { state in
                if state.closed {
                    continuation.resume(throwing: PoolUnavailableError(reason: "the pool is shut down"))
                } else if let connection = state.idle.popLast() {
                    continuation.resume(returning: connection)
                } else {
                    let deadline = NIODeadline.now() + configuration.acquireTimeout
                    state.waiters.append(Waiter(continuation: continuation, deadline: deadline))
                    if state.timer == nil { armTimer(&state, for: deadline) }
                }
            }
        }
    }

    private func release(_ connection: Connection) {
        let waiter = state.withLockedValue { state -> Waiter? in
            if state.waiters.isEmpty {
                state.idle.append(connection)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.continuation.resume(returning: connection)
    }

    /// Sets the one timer for `deadline` (the first waiter's).
    private func armTimer(_ state: inout State, for deadline: NIODeadline) {
        state.timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(deadline: deadline) {
            self.expireWaiters()
        }
    }

    /// Fails the waiters whose deadline has passed (a prefix of the queue),
    /// then sets the timer for the next one's.
    private func expireWaiters() {
        let expired = state.withLockedValue { state -> [Waiter] in
            state.timer = nil
            let now = NIODeadline.now()
            var expired: [Waiter] = []
            while let first = state.waiters.first, first.deadline <= now {
                expired.append(state.waiters.removeFirst())
            }
            if let next = state.waiters.first, !state.closed { armTimer(&state, for: next.deadline) }
            return expired
        }
        let error = PoolUnavailableError(
            reason: "no free connection within \(configuration.acquireTimeout.nanoseconds / 1_000_000) ms")
        for waiter in expired { waiter.continuation.resume(throwing: error) }
    }
}
