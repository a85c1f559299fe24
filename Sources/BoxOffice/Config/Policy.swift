import Foundation
import Logging

/// The policy lives in the database (app.settings), not in the server's
/// sessions: every SQL function reads it there on each call, so a DBA's
/// `api.setting_set` reaches every instance with its next call (the
/// admission interval with the queue_admit job's next schedule read).
///
/// At start, `serve` and `migrate` reconcile it with the environment:
/// connected as the owner (who may execute `api.setting_set`), they write
/// the values the environment names; connected as boxoffice_api alone, an
/// instance cannot, and logs a warning for each value its environment sets
/// differently, and the database's value applies. Values the environment
/// leaves unset are left as the database has them.
public enum Policy {
    /// Reconciles the database's policy with `config` (see above). As the
    /// owner it also stores the HTTP pool's timeouts as boxoffice_api's
    /// defaults in this database (`Database.Timeouts`).
    public static func reconcile(_ config: Config, on connection: Connection, logger: Logger) throws {
        if try isOwner(connection) {
            for (name, value) in config.policyFromEnvironment.sorted(by: { $0.key < $1.key }) {
                try connection.execute("select api.setting_set(name => $1, value => $2)", [name, value])
            }
            storeRoleTimeouts(config.timeouts, on: connection, logger: logger)
            return
        }
        let database = try values(on: connection)
        for (name, value) in config.policyFromEnvironment.sorted(by: { $0.key < $1.key }) where database[name] != value {
            logger.warning(
                "the environment disagrees with the database's policy; the database's value applies (a DBA changes it with api.setting_set)",
                metadata: [
                    "variable": "\(Config.policyVariables[name] ?? name)", "environment": "\(value)",
                    "database": "\(database[name] ?? "none")",
                ])
        }
    }

    /// The policy as the database has it: name to value (required/optional for user_keys).
    public static func values(on connection: Connection) throws -> [String: String] {
        let rows = try connection.execute(
            "select s->>'name', s->>'value' from jsonb_array_elements(api.setting_list()->'settings') s")
        var values: [String: String] = [:]
        for row in rows.rows {
            if let name = row[0], let value = row[1] { values[name] = value }
        }
        return values
    }

    static func isOwner(_ connection: Connection) throws -> Bool {
        try connection.execute("select has_function_privilege('api.setting_set(text, text)', 'execute')").scalar == "t"
    }

    /// `ALTER ROLE boxoffice_api IN DATABASE <this one> SET ...`: the timeouts
    /// every backend of the server's role starts with, pooler or not. Needs
    /// a superuser or CREATEROLE (as `migrate` does); without, a warning.
    static func storeRoleTimeouts(_ timeouts: Database.Timeouts, on connection: Connection, logger: Logger) {
        let statements = timeouts.settings.map { name, value in
            "execute format('alter role boxoffice_api in database %I set \(name) = %L', current_database(), '\(value)');"
        }
        do {
            try connection.run(script: "do $$ begin \(statements.joined(separator: " ")) end $$")
        } catch {
            logger.warning(
                "cannot store the pool's timeouts as boxoffice_api's defaults (needs CREATEROLE); each session still sets them",
                metadata: ["error": "\(error)"])
        }
    }
}
