import Foundation
import Logging
import Testing

@testable import BoxOffice

@Suite("The migrator")
struct MigratorTests {
    @Test("migrates a fresh database, and a second run changes nothing")
    func freshAndTwice() throws {
        let database = try TestDatabase.create(empty: true)
        let connection = try database.admin()
        defer { connection.close() }
        let migrator = Migrator(directory: TestPaths.sql)
        let files = try migrator.files("migrations").map(\.name)

        #expect(try migrator.status(on: connection).pending == files)
        // Looking changes nothing: the bookkeeping appears with the first migrate.
        #expect(try connection.execute("select to_regnamespace('boxoffice_meta') is null").scalar == "t")
        #expect(try migrator.migrate(on: connection) == files)
        #expect(try migrator.status(on: connection).isCurrent)
        let procedures = try connection.execute("select count(*) from pg_proc where pronamespace = 'api'::regnamespace").scalar

        #expect(try migrator.migrate(on: connection).isEmpty)
        #expect(try connection.execute("select count(*) from boxoffice_meta.schema_migrations").scalar == String(files.count))
        #expect(try connection.execute("select count(*) from pg_proc where pronamespace = 'api'::regnamespace").scalar == procedures)
        let expected = try migrator.expectedVersion()
        let deployed = try #require(try migrator.deployedVersion(on: connection))
        #expect(deployed.migration == expected.migration)
        #expect(deployed.migrations == files.map { String($0.prefix(4)) })
        #expect(deployed.procedures == expected.procedures)
        #expect(deployed.proceduresSeen == [expected.procedures])
    }

    @Test("refuses to run when an applied migration was edited")
    func editedMigrationRefused() throws {
        let tree = try SQLTree.copy()
        defer { tree.remove() }
        let database = try TestDatabase.create(empty: true)
        let connection = try database.admin()
        defer { connection.close() }
        try tree.migrator.migrate(on: connection)

        try tree.append("migrations/0002_tables.sql", "-- an innocent edit")

        #expect(try tree.migrator.status(on: connection).changed == ["0002_tables.sql"])
        #expect(throws: Migrator.Failure.self) { try tree.migrator.migrate(on: connection) }
        #expect(throws: Migrator.Failure.self) { try tree.migrator.migrateIfBehind(on: connection, logger: Logger(label: "test")) }
    }

    @Test("the server's role may execute api functions but touch no table")
    func serverRoleHasNoTablePrivileges() throws {
        let database = try TestDatabase.create()
        let api = try Connection.open(conninfo: database.apiConninfo)
        defer { api.close() }
        let created = try api.execute("select api.user_create(name => 'ann')::text").scalar
        #expect(created?.contains("\"name\": \"ann\"") == true)
        for sql in ["insert into app.users (name) values ('mallory')", "select count(*) from app.users", "update app.users set balance = 1000"] {
            let error = #expect(throws: PostgresError.self, "\(sql)") { try api.execute(sql) }
            #expect(error?.sqlstate == "42501", "\(sql)")
        }
    }
}
