import CLibPQ
import Foundation
import NIOConcurrencyHelpers

/// The waiting half of the non-blocking driver (`Database.Driver.nonblocking`):
/// one thread per pool that sits in poll() over the sockets of the
/// connections that have a statement in flight, and finishes each statement
/// when its socket is ready (sends what libpq could not send at once, reads
/// the answer, collects its results), then resumes the task that sent it.
///
/// The task sends the statement itself (`PQsend...` on a connection in
/// non-blocking mode never blocks) and hands the connection over with
/// `results(of:)`; it is the poller's alone until the task resumes. A request
/// thus costs no thread of its own and no blocked thread: the pool
/// benchmark measured 1.35 to 1.57 times the round trips of a thread per
/// connection (bench/pool/RESULTS.md).
///
/// swift-nio has no public way to watch a descriptor it does not own (its
/// pipe bootstrap reads the descriptor itself, which would steal libpq's
/// bytes), hence a thread of its own rather than the event loop.
final class Poller: @unchecked Sendable {
    /// What a statement ended with: its result (an error result included;
    /// a script's last one, or its first error), or nil when the connection
    /// broke on the way (libpq's error message says why).
    typealias Outcome = OpaquePointer?

    private struct Job {
        let conn: OpaquePointer
        let socket: Int32
        var flushing: Bool
        var result: OpaquePointer?
        let continuation: CheckedContinuation<Outcome, Never>
    }

    // Shared, under `lock`.
    private let lock = NIOLock()
    private var incoming: [Job] = []
    private var wakePending = false
    private var stopped = false
    // The polling thread's alone.
    private var jobs: [Job] = []
    private let wakeRead: Int32
    private let wakeWrite: Int32

    init(name: String) {
        var fds: [Int32] = [0, 0]
        // A pipe for a few bytes cannot fail short of running out of descriptors.
        precondition(pipe(&fds) == 0, "pipe failed: errno \(errno)")
        (wakeRead, wakeWrite) = (fds[0], fds[1])
        for fd in fds { _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    /// Waits until the statement just sent on `conn` is done: every result
    /// read (PQgetResult returned NULL), or the connection broken. `flushing`
    /// says PQflush left part of it unsent. After `stop()`, answers nil at once.
    func results(of conn: OpaquePointer, flushing: Bool) async -> Outcome {
        await withCheckedContinuation { continuation in
            let job = Job(conn: conn, socket: PQsocket(conn), flushing: flushing, continuation: continuation)
            let (accepted, wake) = lock.withLock { () -> (Bool, Bool) in
                if stopped { return (false, false) }
                incoming.append(job)
                defer { wakePending = true }
                return (true, !wakePending)
            }
            if !accepted {
                continuation.resume(returning: nil)
            } else if wake {
                self.wake()
            }
        }
    }

    /// Ends the thread; statements still in flight end as if their connection broke.
    func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        if first { wake() }
    }

    // The pipe closes only when nothing can wake the thread any more: a
    // descriptor closed earlier could be reused by a socket, which a late
    // wake would then write into.
    deinit {
        _ = close(wakeRead)
        _ = close(wakeWrite)
    }

    private func loop() {
        var fds: [pollfd] = []
        while true {
            let (stop, taken) = lock.withLock { () -> (Bool, [Job]) in
                wakePending = false
                defer { incoming.removeAll(keepingCapacity: true) }
                return (stopped, incoming)
            }
            jobs += taken
            if stop { break }
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            for job in jobs {
                fds.append(pollfd(fd: job.socket, events: Int16(POLLIN | (job.flushing ? POLLOUT : 0)), revents: 0))
            }
            guard poll(&fds, nfds_t(fds.count), -1) > 0 else { continue }  // EINTR
            if fds[0].revents != 0 {
                // One read empties it, short of 64 wakes in a row.
                var buffer = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &buffer, buffer.count) == buffer.count {}
            }
            // Backwards, so that removing a finished job keeps the indices
            // of the ones still to look at.
            for index in jobs.indices.reversed() where fds[index + 1].revents != 0 {
                let readable = Int32(fds[index + 1].revents) & (POLLIN | POLLERR | POLLHUP | POLLNVAL) != 0
                if case .done(let outcome) = service(&jobs[index], readable: readable) {
                    jobs.remove(at: index).continuation.resume(returning: outcome)
                }
            }
        }
        for job in jobs {
            if let result = job.result { PQclear(result) }
            job.continuation.resume(returning: nil)
        }
        jobs.removeAll()
    }

    private enum Progress {
        case waiting
        case done(Outcome)
    }

    /// The socket is ready: read what came, send what is left (libpq's
    /// order: consume, then flush), and take results while that cannot
    /// block, until the statement is done.
    private func service(_ job: inout Job, readable: Bool) -> Progress {
        let conn = job.conn
        if readable, PQconsumeInput(conn) == 0 { return broken(&job) }
        if job.flushing {
            switch PQflush(conn) {
            case 0: job.flushing = false
            case 1: break
            default: return broken(&job)
            }
        }
        while PQisBusy(conn) == 0 {
            guard let result = PQgetResult(conn) else {
                if PQstatus(conn) != CONNECTION_OK, job.result == nil { return broken(&job) }
                return .done(job.result)
            }
            // Keep the first error, else the last result (a script's).
            if let kept = job.result, Poller.isError(kept) {
                PQclear(result)
            } else {
                if let kept = job.result { PQclear(kept) }
                job.result = result
            }
        }
        return .waiting
    }

    private func broken(_ job: inout Job) -> Progress {
        if let result = job.result { PQclear(result) }
        job.result = nil
        return .done(nil)
    }

    private static func isError(_ result: OpaquePointer) -> Bool {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: false
        default: true
        }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }
}
