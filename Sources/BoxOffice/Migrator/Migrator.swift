import Foundation
import Logging

/// Applies `sql/`: numbered migrations once each, in order, each in its own
/// transaction and recorded with a checksum (an applied file that changed is
/// an error, never skipped); then every procedure file, re-applied each time,
/// all in one transaction, so that no session ever sees some functions new
/// and others old (a function calling a helper that is not there yet); in
/// that same transaction, for each migration this run applied, its
/// `sql/migrations/after/<name>` script if it has one: data work that needs
/// the new functions (0004 recounts the queue's departure counters, which
/// the old functions did not keep up between 0004's commit and this one);
/// then the index files, outside a transaction. Everything but a migration
/// marked `-- migrate: as connecting user` runs as boxoffice_owner, which then
/// owns the tables and the SECURITY DEFINER functions. Two migrators at once
/// take turns on an advisory lock. A database that has migrations this sql/
/// lacks (a newer version migrated it) is refused, never downgraded.
public struct Migrator: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public struct SQLFile: Sendable {
        public var name: String
        public var path: String
        public var text: String
        /// The number before the first underscore, for migrations.
        public var version: String { String(name.prefix { $0 != "_" }) }
    }

    public let directory: String
    static let lockKey = "7243001"

    public init(directory: String) {
        self.directory = directory
    }

    public func files(_ folder: String) throws -> [SQLFile] {
        let path = directory + "/" + folder
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
            .map { SQLFile(name: $0, path: path + "/" + $0, text: try String(contentsOfFile: path + "/" + $0, encoding: .utf8)) }
    }

    /// Brings the database up to date. Returns the migrations it applied.
    @discardableResult
    public func migrate(on connection: Connection, logger: Logger = Logger(label: "boxoffice.migrate")) throws -> [String] {
        try connection.execute("select pg_advisory_lock(\(Self.lockKey))")
        defer { _ = try? connection.execute("select pg_advisory_unlock(\(Self.lockKey))") }
        return try apply(on: connection, logger: logger)
    }

    /// `migrate` without the lock, for a caller that holds it.
    func apply(on connection: Connection, logger: Logger) throws -> [String] {
        guard try mayMigrate(on: connection) else {
            throw Failure(
                description: "\(currentUser(on: connection)) may not migrate: "
                    + "set MIGRATE_DATABASE_URL to a superuser or a member of boxoffice_owner")
        }
        try ensureBookkeeping(on: connection)
        let current = try status(on: connection)
        if !current.unknown.isEmpty {
            throw Failure(
                description: "the database has migrations this sql/ does not: \(current.unknown.joined(separator: ", ")); "
                    + "a newer version migrated it, so run that version's boxoffice migrate "
                    + "(this one would put older procedures over a newer schema)")
        }
        if !current.changed.isEmpty { throw Self.changed(current.changed) }
        var applied: [String] = []
        for file in try files("migrations") where current.pending.contains(file.name) {
            logger.notice("applying migration", metadata: ["file": "\(file.name)"])
            let asOwner = !file.text.contains("-- migrate: as connecting user")
            try inTransaction(connection, files: [file], asOwner: asOwner) {
                try connection.execute(
                    "insert into boxoffice_meta.schema_migrations (version, name, checksum) values ($1, $2, md5($3))",
                    [file.version, file.name, file.text])
            }
            applied.append(file.name)
        }
        let procedures = try files("procedures")
        let after = try files("migrations/after").filter { applied.contains($0.name) }
        try inTransaction(connection, files: procedures + after, asOwner: true) {}
        try recordVersion(procedures: procedures, on: connection)
        for file in try files("indexes") {
            try buildIndex(file, on: connection)
        }
        return applied
    }

    static func changed(_ names: [String]) -> Failure {
        Failure(
            description: "applied migrations changed since they were applied: \(names.joined(separator: ", ")); "
                + "add a new migration instead of editing one")
    }

    func currentUser(on connection: Connection) -> String {
        (try? connection.execute("select current_user").scalar) ?? "this role"
    }

    /// The version this tree of sql/ would leave behind: the newest migration
    /// and a checksum over the procedure files. `/ready` compares it with
    /// what `api.schema_version()` reports.
    public func expectedVersion() throws -> (migration: String, procedures: String) {
        let migration = try files("migrations").last?.version ?? ""
        return (migration, Self.fingerprint(try files("procedures")))
    }

    /// FNV-1a over the procedure files' names and texts: cheap, stable, local.
    static func fingerprint(_ files: [SQLFile]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in files.flatMap({ Array(($0.name + "\u{0}" + $0.text).utf8) }) {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    /// Runs `files` in one transaction, then `record`, then commits; a
    /// failure rolls everything back and names the file.
    private func inTransaction(_ connection: Connection, files: [SQLFile], asOwner: Bool, then record: () throws -> Void) throws {
        var current = files.first?.name ?? "commit"
        do {
            try connection.run(script: "begin")
            if asOwner { try connection.run(script: "set local role boxoffice_owner") }
            for file in files {
                current = file.name
                try connection.run(script: file.text)
            }
            current = "commit"
            if asOwner { try connection.run(script: "reset role") }
            try record()
            try connection.run(script: "commit")
        } catch let error as PostgresError {
            _ = try? connection.run(script: "rollback")
            throw Failure(description: "\(current): \(error)\(error.hint.map { " hint: \($0)" } ?? "")")
        }
    }

    private func buildIndex(_ file: SQLFile, on connection: Connection) throws {
        let name = String(file.name.dropLast(4))
        do {
            try connection.run(script: "set role boxoffice_owner")
            defer { _ = try? connection.run(script: "reset role") }
            // A CONCURRENTLY build that failed leaves an invalid index behind,
            // which IF NOT EXISTS would then keep: drop it and build again.
            let invalid = try connection.execute("""
                select n.nspname from pg_index i join pg_class c on c.oid = i.indexrelid
                join pg_namespace n on n.oid = c.relnamespace where c.relname = $1 and not i.indisvalid
                """, [name])
            if let schema = invalid.scalar {
                try connection.run(script: "drop index concurrently if exists \(schema).\(name)")
            }
            try connection.run(script: file.text)
        } catch {
            throw Failure(description: "\(file.name): \(error)")
        }
    }

    /// Creates the bookkeeping table when it is missing, and only then:
    /// CREATE SCHEMA IF NOT EXISTS checks the database's CREATE privilege
    /// before it looks whether the schema exists.
    private func ensureBookkeeping(on connection: Connection) throws {
        guard try bookkeeping(on: connection) == .absent else { return }
        try connection.run(script: """
            create schema if not exists boxoffice_meta;
            create table if not exists boxoffice_meta.schema_migrations (
              version    text primary key,
              name       text not null,
              checksum   text not null,
              applied_at timestamptz not null default now());
            """)
    }
}
