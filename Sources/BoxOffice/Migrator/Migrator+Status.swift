import Foundation

/// Reading where a database stands, without changing anything: no CREATE,
/// no writes, and only what the connecting role may read, so that the
/// server's own role (boxoffice_api) can check it at start.
extension Migrator {
    public struct Status: Sendable {
        public var applied: [String]
        public var pending: [String]
        /// Applied, but the file differs from what was applied (checked only
        /// where the connection may read the checksums).
        public var changed: [String]
        /// Applied in the database, but not in this sql/: a newer version
        /// migrated it.
        public var unknown: [String]
        public var isCurrent: Bool { pending.isEmpty && changed.isEmpty && unknown.isEmpty }
    }

    /// One applied migration as the database records it.
    struct Applied: Sendable {
        var name: String?
        /// nil where this connection may not read the bookkeeping table.
        var checksum: String?
    }

    enum Bookkeeping: String {
        case absent, readable, hidden
    }

    /// What is applied, pending, changed since it was applied, or unknown here.
    public func status(on connection: Connection) throws -> Status {
        try status(on: connection, deployed: try deployedVersion(on: connection))
    }

    func status(on connection: Connection, deployed: DeployedVersion?) throws -> Status {
        let recorded = try appliedMigrations(on: connection, deployed: deployed)
        let files = try files("migrations")
        var status = Status(applied: [], pending: [], changed: [], unknown: [])
        for file in files {
            guard let applied = recorded[file.version] else {
                status.pending.append(file.name)
                continue
            }
            if let checksum = applied.checksum, checksum != (try self.checksum(file.text, on: connection)) {
                status.changed.append(file.name)
            } else {
                status.applied.append(file.name)
            }
        }
        let known = Set(files.map(\.version))
        status.unknown = recorded.filter { !known.contains($0.key) }.map { $0.value.name ?? $0.key }.sorted()
        return status
    }

    /// Whether boxoffice_meta.schema_migrations exists, and whether this
    /// connection may read it. From the catalogs, which anyone may read
    /// (a lookup by name, as to_regclass does, fails without USAGE on the
    /// schema).
    func bookkeeping(on connection: Connection) throws -> Bookkeeping {
        let found = try connection.execute("""
            select has_schema_privilege(n.oid, 'usage') and has_table_privilege(c.oid, 'select')
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'boxoffice_meta' and c.relname = 'schema_migrations'
            """).scalar
        switch found {
        case nil: return .absent
        case "t": return .readable
        default: return .hidden
        }
    }

    /// The applied migrations by version: from the bookkeeping table where
    /// this connection may read it, else from `api.schema_version()` (no
    /// checksums then). An older schema_version names only the newest
    /// migration; every file up to it counts as applied.
    func appliedMigrations(on connection: Connection, deployed: DeployedVersion?) throws -> [String: Applied] {
        switch try bookkeeping(on: connection) {
        case .readable:
            let rows = try connection.execute("select version, name, checksum from boxoffice_meta.schema_migrations").rows
            return Dictionary(rows.map { ($0[0] ?? "", Applied(name: $0[1], checksum: $0[2])) }) { first, _ in first }
        case .absent:
            return [:]
        case .hidden:
            guard let deployed else { return [:] }
            let versions = try deployed.migrations
                ?? files("migrations").map(\.version).filter { $0 <= deployed.migration } + [deployed.migration]
            let known = versions.filter { !$0.isEmpty }.map { ($0, Applied(name: nil, checksum: nil)) }
            return Dictionary(known) { first, _ in first }
        }
    }

    /// Whether this connection may migrate: a superuser, or a member of
    /// boxoffice_owner that may write the bookkeeping (or create it).
    func mayMigrate(on connection: Connection) throws -> Bool {
        try connection.execute("""
            select r.rolsuper or (
              exists (select from pg_roles o where o.rolname = 'boxoffice_owner' and pg_has_role(r.oid, o.oid, 'member'))
              and coalesce(
                (select has_schema_privilege(c.relnamespace, 'usage') and has_table_privilege(c.oid, 'insert')
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = 'boxoffice_meta' and c.relname = 'schema_migrations'),
                has_database_privilege(current_database(), 'create')))
            from pg_roles r where r.rolname = current_user
            """).scalar == "t"
    }

    private func checksum(_ text: String, on connection: Connection) throws -> String {
        try connection.execute("select md5($1)", [text]).scalar ?? ""
    }
}
