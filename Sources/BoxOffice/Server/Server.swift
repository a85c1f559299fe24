import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `boxoffice serve`: migrates when the schema is behind, then runs the HTTP
/// server, the queue listener and (unless SCHEDULER=off) the scheduler as
/// services that start in order and stop in reverse on SIGTERM or SIGINT.
///
/// Shutdown is bounded: the HTTP server stops accepting and finishes its
/// requests (event streams end at once), then the scheduler lets its runs
/// finish for 5 s before cancelling them (`Scheduler`), then the listener
/// stops. Whatever is still going after `maximumGracefulShutdown` is
/// cancelled, and a process whose services have not returned
/// `maximumCancellation` after that aborts rather than hang.
public enum Server {
    public static let maximumGracefulShutdown: Duration = .seconds(10)
    public static let maximumCancellation: Duration = .seconds(5)

    public static func run(config: Config, logger: Logger, onListening: (@Sendable (Int) async -> Void)? = nil) async throws {
        let target = try DatabaseTarget.resolve(config, logger: logger)
        let migrator = Migrator(directory: config.sqlDirectory)
        try migrateIfBehind(migrator, conninfo: target.adminConninfo, admitIntervalSeconds: config.admitIntervalSeconds, logger: logger)

        let database = Database(
            .init(
                conninfo: target.serveConninfo, poolSize: config.poolSize,
                acquireTimeout: .milliseconds(Int64(config.poolWaitMilliseconds)), settings: config.sessionSettings),
            logger: logger)
        let notifier = QueueNotifier(conninfo: target.serveConninfo, database: database, logger: logger)
        let app = Application(
            router: App.router(
                database: database, migrator: migrator, notifier: notifier,
                concertListTTL: .milliseconds(config.concertListCacheMilliseconds), publicDirectory: config.publicDirectory),
            configuration: .init(address: .hostname(config.httpHost, port: config.httpPort), serverName: "boxoffice"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? config.httpPort
                logger.notice("listening", metadata: ["address": "http://\(config.httpHost):\(port)"])
                // Unbuffered, even to a file or pipe: scripts and tests wait for this line.
                FileHandle.standardOutput.write(Data("boxoffice listening on http://\(config.httpHost):\(port)\n".utf8))
                await onListening?(port)
            },
            logger: logger)

        var services: [any Service] = [notifier]
        // The jobs get a pool of their own, one connection per concurrent
        // run, so that a busy HTTP pool never delays queue_admit.
        var jobDatabase: Database?
        if config.schedulerEnabled {
            let runs = Scheduler.defaultMaxConcurrentRuns
            let jobs = Database(
                .init(
                    conninfo: target.serveConninfo, poolSize: runs,
                    acquireTimeout: .seconds(5), settings: config.sessionSettings),
                logger: logger)
            jobDatabase = jobs
            services.append(
                Scheduler(
                    database: jobs, leaderConninfo: target.serveConninfo,
                    instance: config.instanceName, jobTimeoutSeconds: config.jobTimeoutSeconds, logger: logger,
                    maxConcurrentRuns: runs))
        }
        services.append(app)
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        configuration.maximumGracefulShutdownDuration = maximumGracefulShutdown
        configuration.maximumCancellationDuration = maximumCancellation
        let group = ServiceGroup(configuration: configuration)
        // in reverse order of use: the scheduler has stopped, then HTTP
        func shutdownPools() async {
            await jobDatabase?.shutdown()
            await database.shutdown()
        }
        do {
            try await group.run()
        } catch {
            await shutdownPools()
            try? target.startedEmbedded?.stop()
            throw error
        }
        await shutdownPools()
        if let embedded = target.startedEmbedded {
            logger.notice("stopping the embedded PostgreSQL this process started")
            try? embedded.stop()
        }
    }

    /// Applies sql/ when the schema is behind (Migrator.migrateIfBehind: a
    /// read-only check first, so the server's own role may start a current
    /// database); leaves it alone when the database is ahead of this version.
    public static func migrateIfBehind(_ migrator: Migrator, conninfo: String, admitIntervalSeconds: Int? = nil, logger: Logger) throws {
        let connection = try Connection.open(conninfo: conninfo)
        defer { connection.close() }
        guard try migrator.migrateIfBehind(on: connection, logger: logger) != .ahead, let interval = admitIntervalSeconds else { return }
        try applyAdmitInterval(interval, on: connection, logger: logger)
    }

    /// ADMIT_INTERVAL_SECONDS is the schedule of the queue_admit job in
    /// app.jobs; bring it in line when it differs (this needs the owner's
    /// connection, so it happens with migrations).
    static func applyAdmitInterval(_ seconds: Int, on connection: Connection, logger: Logger) throws {
        let schedule = "\(seconds) seconds"
        let current = try connection.execute(
            "select j->>'schedule' from jsonb_array_elements(api.job_list()->'jobs') j where j->>'name' = 'queue_admit'").scalar
        guard current != schedule else { return }
        do {
            try connection.execute("select api.job_alter(name => 'queue_admit', schedule => $1)", [schedule])
            logger.notice("queue_admit rescheduled", metadata: ["schedule": "\(schedule)"])
        } catch {
            logger.warning("cannot reschedule queue_admit to ADMIT_INTERVAL_SECONDS", metadata: ["error": "\(error)"])
        }
    }
}
