import Foundation

/// `api.schema_version()`: what a migrate left behind, written as a constant
/// function the server's role may execute, so that every instance (and
/// `/ready`) can tell the database's schema from its own without any
/// privilege on the bookkeeping tables.
extension Migrator {
    public struct DeployedVersion: Sendable, Equatable {
        /// The newest migration of the sql/ that migrated last.
        public var migration: String
        /// Every migration applied; nil when an older migrator wrote it.
        public var migrations: [String]?
        /// The fingerprint of the procedure files in place.
        public var procedures: String
        /// Every procedures fingerprint this database has had, oldest first
        /// and the current one last (the newest `proceduresKept`).
        public var proceduresSeen: [String]
    }

    static let proceduresKept = 100

    /// What `api.schema_version()` reports, or nil when it does not exist or
    /// this connection may not call it.
    public func deployedVersion(on connection: Connection) throws -> DeployedVersion? {
        let callable = try connection.execute("""
            select has_schema_privilege(n.oid, 'usage') and has_function_privilege(p.oid, 'execute')
            from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'api' and p.proname = 'schema_version' and p.pronargs = 0
            """).scalar
        guard callable == "t" else { return nil }
        let text = try connection.execute("select api.schema_version()::text").scalar ?? ""
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return nil }
        func list(_ key: String) -> [String]? {
            (object[key] as? String).map { $0.split(separator: ",").map(String.init) }
        }
        return DeployedVersion(
            migration: object["migration"] as? String ?? "",
            migrations: list("migrations"),
            procedures: object["procedures"] as? String ?? "",
            proceduresSeen: list("procedures_seen") ?? [])
    }

    /// Rewrites `api.schema_version()` after a migrate: this sql/'s newest
    /// migration, all of them, the procedures fingerprint, and the history
    /// of fingerprints with this one moved to the end.
    func recordVersion(procedures: [SQLFile], on connection: Connection) throws {
        let fingerprint = Self.fingerprint(procedures)
        var seen = try deployedVersion(on: connection).map { previous in
            previous.proceduresSeen.contains(previous.procedures) || previous.procedures.isEmpty
                ? previous.proceduresSeen : previous.proceduresSeen + [previous.procedures]
        } ?? []
        seen.removeAll { $0 == fingerprint }
        seen = Array((seen + [fingerprint]).suffix(Self.proceduresKept))
        let migrations = try files("migrations").map(\.version)
        let version: [String: String] = [
            "migration": migrations.last ?? "",
            "migrations": migrations.joined(separator: ","),
            "procedures": fingerprint,
            "procedures_seen": seen.joined(separator: ","),
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: version, options: [.sortedKeys]), as: UTF8.self)
        let literal = "'" + json.replacingOccurrences(of: "'", with: "''") + "'"
        do {
            try connection.run(script: """
                begin;
                set local role boxoffice_owner;
                create or replace function api.schema_version() returns jsonb
                  language sql immutable security definer set search_path = '' as $v$ select \(literal)::jsonb $v$;
                comment on function api.schema_version() is
                  'The schema this database is at: the newest migration, every migration applied, a fingerprint of
                the procedure files, and the fingerprints it had before (oldest first). Written by boxoffice migrate.';
                grant execute on function api.schema_version() to boxoffice_api;
                commit;
                """)
        } catch {
            _ = try? connection.run(script: "rollback")
            throw Failure(description: "recording the schema version: \(error)")
        }
    }
}
