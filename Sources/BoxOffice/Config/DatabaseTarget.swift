import Logging

/// Which database a command talks to: DATABASE_URL when set, else the
/// embedded cluster (started on demand). The server's pool connects as
/// boxoffice_api; migrations and seeding connect as the owner.
public struct DatabaseTarget: Sendable {
    /// For the server's pool.
    public var serveConninfo: String
    /// For migrate, seed and the DBA-only commands.
    public var adminConninfo: String
    /// Set when this process started the embedded cluster.
    public var startedEmbedded: EmbeddedPostgres?

    public static func resolve(_ config: Config, logger: Logger) throws -> DatabaseTarget {
        if let url = config.databaseURL {
            return DatabaseTarget(serveConninfo: url, adminConninfo: config.migrateDatabaseURL ?? url, startedEmbedded: nil)
        }
        let embedded = EmbeddedPostgres(home: config.home)
        let started = try embedded.start(logger: logger)
        return DatabaseTarget(
            serveConninfo: try embedded.conninfo(user: "boxoffice_api"),
            adminConninfo: try embedded.conninfo(),
            startedEmbedded: started ? embedded : nil)
    }
}
