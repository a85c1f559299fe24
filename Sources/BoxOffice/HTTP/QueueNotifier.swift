import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

/// Listens for the admission job's `NOTIFY boxoffice_queue, '<concertId>'` on
/// a dedicated connection and counts them per concert. Event streams watch
/// their concert's count instead of querying on a timer; they still refresh
/// now and then, because a NOTIFY sent while this listener was reconnecting
/// is lost (after a reconnect every count is bumped for the same reason).
public final class QueueNotifier: Service, Sendable {
    private let conninfo: String
    private let logger: Logger
    private let counts = NIOLockedValueBox<[Int64: UInt64]>([:])
    private let reconnects = NIOLockedValueBox<UInt64>(0)
    private let thread = NIOThreadPool(numberOfThreads: 1)

    public init(conninfo: String, logger: Logger) {
        self.conninfo = conninfo
        self.logger = logger
    }

    /// A number that changes whenever the concert's line may have moved.
    public func generation(of concertId: Int64) -> UInt64 {
        let count = counts.withLockedValue { $0[concertId, default: 0] }
        return count &+ reconnects.withLockedValue { $0 }
    }

    public func run() async throws {
        thread.start()
        defer { thread.shutdownGracefully { _ in } }
        let connection = Connection(conninfo: conninfo, options: Connection.watchful)
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                do {
                    let notes = try await thread.runIfActive { () throws -> [(channel: String, payload: String)] in
                        if !connection.isHealthy() {
                            try connection.connect()
                            try connection.run(script: "listen boxoffice_queue")
                            self.reconnects.withLockedValue { $0 &+= 1 }
                        }
                        return try connection.waitForNotifications(timeout: 0.5)
                    }
                    if !notes.isEmpty {
                        counts.withLockedValue { counts in
                            for note in notes { if let id = Int64(note.payload) { counts[id, default: 0] &+= 1 } }
                        }
                    }
                } catch {
                    logger.warning("queue listener lost its connection", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        } onGracefulShutdown: {}
        connection.close()
    }
}
