import Foundation
import Testing

@testable import BoxOffice

/// A fresh database for one test, copied from the migrated template that
/// scripts/test prepares (BOXOFFICE_TEST_PG names the cluster,
/// BOXOFFICE_TEST_TEMPLATE the template). Never a mock: a real PostgreSQL.
struct TestDatabase: Sendable {
    let name: String
    let server: String

    /// The superuser's connection string, for fixtures and inspection.
    var adminConninfo: String { "\(server) dbname=\(name)" }
    /// The server role's, as `boxoffice serve` connects.
    var apiConninfo: String { "\(server) dbname=\(name) user=boxoffice_api" }

    /// The server role's, through the PgBouncer (transaction mode) that
    /// scripts/test starts in front of the cluster (BOXOFFICE_TEST_PGBOUNCER).
    func pooledConninfo() throws -> String {
        guard let pgbouncer = Self.pgbouncer else { throw PgBouncerNotConfigured() }
        return "\(pgbouncer) dbname=\(name) user=boxoffice_api"
    }

    /// PgBouncer's admin console (SHOW POOLS, SHOW STATS), as postgres.
    static func pgbouncerConsole() throws -> Connection {
        guard let pgbouncer else { throw PgBouncerNotConfigured() }
        // The console knows only the simple query protocol.
        return try Connection.open(conninfo: "\(pgbouncer) dbname=pgbouncer user=postgres")
    }

    static var pgbouncer: String? { ProcessInfo.processInfo.environment["BOXOFFICE_TEST_PGBOUNCER"] }

    struct PgBouncerNotConfigured: Error, CustomStringConvertible {
        var description: String {
            "BOXOFFICE_TEST_PGBOUNCER is not set: run scripts/test, which starts PgBouncer in transaction mode (scripts/lib/pgbouncer.sh)"
        }
    }

    struct NotConfigured: Error, CustomStringConvertible {
        var description: String { "BOXOFFICE_TEST_PG is not set: run scripts/test, which starts a throwaway cluster" }
    }

    static var server: String? { ProcessInfo.processInfo.environment["BOXOFFICE_TEST_PG"] }
    static var template: String { ProcessInfo.processInfo.environment["BOXOFFICE_TEST_TEMPLATE"] ?? "boxoffice_template" }

    /// A new database from the template (`empty`: no schema at all).
    static func create(empty: Bool = false) throws -> TestDatabase {
        guard let server else { throw NotConfigured() }
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let admin = try Connection.open(conninfo: "\(server) dbname=postgres")
        defer { admin.close() }
        try creating.withLock {
            try admin.run(script: "create database \(name)" + (empty ? "" : " template \(template)"))
        }
        return TestDatabase(name: String(name), server: server)
    }

    /// CREATE DATABASE ... TEMPLATE fails while another one copies the same
    /// template, so tests take turns.
    private static let creating = NSLock()

    func admin() throws -> Connection { try Connection.open(conninfo: adminConninfo) }

    /// One statement as the superuser; the first column of the first row.
    @discardableResult
    func scalar(_ sql: String, _ params: [String?] = []) throws -> String? {
        let connection = try admin()
        defer { connection.close() }
        return try connection.execute(sql, params).scalar
    }
}

extension NSLock {
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
