import BoxOffice
import CLibPQ
import Foundation
import NIOConcurrencyHelpers
import NIOCore

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
