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
    ///
    /// CREATE DATABASE ... TEMPLATE fails while another one copies the same
    /// template, so the tests take turns, on one serial queue of their own:
    /// neither the statement nor the wait for a turn holds a thread of
    /// Swift's cooperative pool. Those are as many as the cores (two here),
    /// and the whole suite starts at once: a lock taken there kept both
    /// threads waiting on each other's CREATE DATABASE for tens of seconds,
    /// while the pools and in-process servers of the tests already running
    /// could not move (the pool tests ran out of their 30 s wait for a
    /// connection, the raw HTTP reads of their 10 s).
    static func create(empty: Bool = false) async throws -> TestDatabase {
        guard let server else { throw NotConfigured() }
        let name = String("t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))
        let template = template
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            creating.async {
                continuation.resume(
                    with: Result {
                        let admin = try Connection.open(conninfo: "\(server) dbname=postgres")
                        defer { admin.close() }
                        try admin.run(script: "create database \(name)" + (empty ? "" : " template \(template)"))
                    })
            }
        }
        return TestDatabase(name: name, server: server)
    }

    private static let creating = DispatchQueue(label: "boxoffice.tests.create-database")

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
