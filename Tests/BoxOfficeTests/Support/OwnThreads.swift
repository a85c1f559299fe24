import NIOCore
import NIOPosix

/// Threads of their own for the tasks of a pool test that starts hundreds of
/// callers at once (`withTaskExecutorPreference(OwnThreads.shared)`).
///
/// Every connection such a test's pool hands over costs its callers two
/// hops through the executor: the waiter that gets it resumes, and so does
/// the caller that gives it back after its statement. On Swift's shared pool
/// (two threads on this machine) each hop queues behind every job of the
/// rest of the suite, whose tests still make short blocking libpq calls
/// (fixtures, `TestDatabase.scalar`) there, and a burst of 300 callers on 4
/// connections needs 75 rounds of those hops: the last waiters ran out of
/// their 30 s wait while the pool kept serving. On threads of their own the
/// hops wait for the test's own tasks only, and the wait still catches a
/// connection that never comes back.
final class OwnThreads: TaskExecutor {
    static let shared = OwnThreads(threads: 2)

    private let group: MultiThreadedEventLoopGroup

    init(threads: Int) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        group.next().execute { job.runSynchronously(on: executor) }
    }
}
