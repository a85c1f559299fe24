import Foundation
import Logging

/// The migrate-on-start of `boxoffice serve`: decide read-only whether the
/// database is current, behind or ahead of this version, and write only when
/// it is behind and the connection may migrate. An instance older than its
/// database (a rolling deploy, an old instance restarting) leaves the schema
/// alone and starts anyway; its `/ready` answers 503 until it is replaced.
extension Migrator {
    public enum StartupOutcome: Equatable, Sendable {
        case current
        case migrated([String])
        /// The database is newer than this version; nothing was touched.
        case ahead
    }

    enum Plan: Equatable {
        case current
        case behind(String)
        case ahead(String)
    }

    /// Migrates when the schema is behind, only then takes the migration
    /// lock, and looks again under it (another instance may have migrated
    /// meanwhile). Throws one message naming what to do when the schema is
    /// behind and this connection may not migrate it.
    public func migrateIfBehind(on connection: Connection, logger: Logger) throws -> StartupOutcome {
        var plan = try plan(on: connection)
        if case .behind(let reason) = plan {
            guard try mayMigrate(on: connection) else {
                throw Failure(description: """
                    the database schema is behind this version (\(reason)), and \(currentUser(on: connection)) may not migrate it: \
                    run `boxoffice migrate` with MIGRATE_DATABASE_URL set to a superuser or a member of boxoffice_owner \
                    (or start serve with that MIGRATE_DATABASE_URL), then start serve again
                    """)
            }
            try connection.execute("select pg_advisory_lock(\(Self.lockKey))")
            defer { _ = try? connection.execute("select pg_advisory_unlock(\(Self.lockKey))") }
            plan = try self.plan(on: connection)
            if case .behind = plan {
                let applied = try apply(on: connection, logger: logger)
                logger.notice("schema migrated", metadata: ["applied": "\(applied.count)", "why": "\(reason)"])
                return .migrated(applied)
            }
        }
        switch plan {
        case .ahead(let reason):
            // An error, not a warning: in a rolling deploy this is expected
            // for the old instances, but a deploy that reverts procedures to
            // an earlier text (no new migration) lands here too and needs an
            // operator to run this version's `boxoffice migrate` on purpose.
            logger.error(
                "the database is ahead of this version: leaving its schema alone; /ready answers 503 until the newer version runs here, or until this version's `boxoffice migrate` is run on purpose (a revert)",
                metadata: ["why": "\(reason)"])
            return .ahead
        default:
            return .current
        }
    }

    /// Current, behind or ahead, read-only. Ahead: the database has
    /// migrations this sql/ lacks, or its procedures replaced this version's
    /// (this fingerprint is in its history but no longer current). A
    /// procedures fingerprint it never had is newer, and applied.
    func plan(on connection: Connection) throws -> Plan {
        let deployed = try deployedVersion(on: connection)
        let status = try status(on: connection, deployed: deployed)
        if !status.unknown.isEmpty {
            return .ahead("applied migrations this version does not have: \(status.unknown.joined(separator: ", "))")
        }
        if !status.changed.isEmpty { throw Self.changed(status.changed) }
        if !status.pending.isEmpty {
            return .behind("pending migrations: \(status.pending.joined(separator: ", "))")
        }
        let expected = Self.fingerprint(try files("procedures"))
        guard let deployed, deployed.procedures == expected else {
            if let deployed, deployed.proceduresSeen.contains(expected) {
                return .ahead(
                    "procedures \(deployed.procedures) replaced this version's \(expected) "
                        + "(to go back to these on purpose, run this version's boxoffice migrate)")
            }
            return .behind("procedures changed")
        }
        return .current
    }
}
