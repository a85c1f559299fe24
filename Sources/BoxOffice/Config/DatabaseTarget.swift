import Logging

/// Which database a command talks to: DATABASE_URL when set, else the
/// embedded cluster (started on demand). The server's pool connects as
/// boxoffice_api; migrations and seeding connect as the owner.
public struct DatabaseTarget: Sendable {
    /// For the server's HTTP pool (possibly through a transaction-mode pooler).
    public var serveConninfo: String
    /// A direct session, as the server's role: the scheduler (its lock and
    /// its job runs) and the queue listener.
    public var sessionConninfo: String
    /// For migrate, seed and the DBA-only commands.
    public var adminConninfo: String
    /// Set when this process started the embedded cluster.
    public var startedEmbedded: EmbeddedPostgres?

    public static func resolve(_ config: Config, logger: Logger) throws -> DatabaseTarget {
        if let url = config.databaseURL {
            let session = config.sessionDatabaseURL ?? url
            return DatabaseTarget(
                serveConninfo: url, sessionConninfo: session, adminConninfo: config.migrateDatabaseURL ?? session,
                startedEmbedded: nil)
        }
        let embedded = EmbeddedPostgres(home: config.home)
        let started = try embedded.start(logger: logger)
        let api = try embedded.conninfo(user: "boxoffice_api")
        return DatabaseTarget(
            serveConninfo: api, sessionConninfo: api,
            adminConninfo: try embedded.conninfo(),
            startedEmbedded: started ? embedded : nil)
    }
}
