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
        try migrateIfBehind(migrator, conninfo: target.adminConninfo, config: config, logger: logger)

        let database = Database(
            .init(
                conninfo: target.serveConninfo, poolSize: config.poolSize,
                acquireTimeout: .milliseconds(Int64(config.poolWaitMilliseconds)), timeouts: config.timeouts,
                preparedStatements: config.preparedStatements, driver: config.databaseDriver),
            logger: logger)
        // LISTEN and the scheduler need sessions that outlive a transaction:
        // DATABASE_SESSION_URL, a direct connection even when the HTTP pool
        // goes through a transaction-mode pooler.
        let notifier = QueueNotifier(conninfo: target.sessionConninfo, database: database, logger: logger)
        let app = Application(
            router: App.router(
                database: database, migrator: migrator, notifier: notifier,
                concertListTTL: .milliseconds(config.concertListCacheMilliseconds), publicDirectory: config.publicDirectory),
            server: App.server,
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
        var webhookDatabase: Database?
        let leadership = Leadership()
        if config.schedulerEnabled {
            let runs = Scheduler.defaultMaxConcurrentRuns
            let jobs = Database(
                .init(
                    conninfo: target.sessionConninfo, poolSize: runs,
                    acquireTimeout: .seconds(5), timeouts: config.timeouts, driver: config.databaseDriver),
                logger: logger)
            jobDatabase = jobs
            services.append(
                Scheduler(
                    database: jobs, leaderConninfo: target.sessionConninfo,
                    instance: config.instanceName, jobTimeoutSeconds: config.jobTimeoutSeconds, logger: logger,
                    maxConcurrentRuns: runs, leadership: leadership))
            // Webhooks: the leader's, with a pool, event loop and timeouts of
            // their own, so a receiver that hangs holds up nothing else.
            if let webhook = config.webhook {
                let pool = Database(webhookPool(config, target: target), logger: logger)
                webhookDatabase = pool
                services.append(
                    WebhookDeliverer(
                        settings: webhook, database: pool, leadership: leadership, instance: config.instanceName,
                        logger: logger))
            }
        } else if config.webhook != nil {
            logger.warning("WEBHOOK_URL is set but SCHEDULER=off: only a scheduler's leader delivers webhooks")
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
            await webhookDatabase?.shutdown()
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

    /// The webhook deliverer's pool: 2 connections, opened only once this
    /// instance leads. It goes where the HTTP pool goes (`DATABASE_URL`, the
    /// pooler's address when there is one) and the way the HTTP pool does:
    /// its two statements (`api.webhook_claim`, `api.webhook_attempt_finish`)
    /// are each a transaction of their own that needs nothing of the session
    /// after it, so they belong with the pooled traffic rather than on
    /// `DATABASE_SESSION_URL`, which is kept for what needs a session (the
    /// leader lock, LISTEN, job runs cancelled by their backend). Hence the
    /// HTTP pool's `DB_PREPARED_STATEMENTS` (unnamed statements behind a
    /// transaction-mode pooler, where a named one collides with another
    /// client's) and its timeouts (each session sets them; behind the pooler,
    /// boxoffice_api's defaults in the database are the same values).
    static func webhookPool(_ config: Config, target: DatabaseTarget) -> Database.Configuration {
        .init(
            conninfo: target.serveConninfo, poolSize: 2, acquireTimeout: .seconds(5), timeouts: config.timeouts,
            preparedStatements: config.preparedStatements, driver: config.databaseDriver)
    }

    /// Applies sql/ when the schema is behind (Migrator.migrateIfBehind: a
    /// read-only check first, so the server's own role may start a current
    /// database), then reconciles the policy with `config` (`Policy`); leaves
    /// a database that is ahead of this version alone.
    public static func migrateIfBehind(_ migrator: Migrator, conninfo: String, config: Config? = nil, logger: Logger) throws {
        let connection = try Connection.open(conninfo: conninfo)
        defer { connection.close() }
        guard try migrator.migrateIfBehind(on: connection, logger: logger) != .ahead, let config else { return }
        try Policy.reconcile(config, on: connection, logger: logger)
    }
}
