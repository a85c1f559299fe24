import Foundation
import Logging
import Testing

@testable import BoxOffice

@Suite("The migrator")
struct MigratorTests {
    @Test("migrates a fresh database, and a second run changes nothing")
    func freshAndTwice() async throws {
        let database = try await TestDatabase.create(empty: true)
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
    func editedMigrationRefused() async throws {
        try await SQLTree.migrated { tree, connection in
            try tree.append("migrations/0002_tables.sql", "-- an innocent edit")

            #expect(try tree.migrator.status(on: connection).changed == ["0002_tables.sql"])
            #expect(throws: Migrator.Failure.self) { try tree.migrator.migrate(on: connection) }
            #expect(throws: Migrator.Failure.self) { try tree.migrator.migrateIfBehind(on: connection, logger: Logger(label: "test")) }
        }
    }

    @Test("an after-migration script runs once, when its migration is applied, with the new procedures in place")
    func afterScriptRunsOnce() async throws {
        try await SQLTree.migrated { tree, connection in
            try tree.add(migration: "0099_marker.sql", "create table app.marker (functions integer not null);")
            try tree.write("procedures/95_marker.sql", "create or replace function app.marker_fn() returns integer language sql as 'select 1';")
            // Counts the procedure it needs: 1 only if the procedures are in place when it runs.
            try tree.write("migrations/after/0099_marker.sql", "insert into app.marker select count(*) from pg_proc where proname = 'marker_fn';")

            #expect(try tree.migrator.migrate(on: connection) == ["0099_marker.sql"])
            #expect(try connection.execute("select string_agg(functions::text, ',') from app.marker").scalar == "1")
            #expect(try tree.migrator.migrate(on: connection).isEmpty)
            #expect(try connection.execute("select count(*) from app.marker").scalar == "1", "not run again")
        }
    }

    @Test("the procedure files go in as one transaction: one that fails leaves every function as it was")
    func proceduresAllOrNothing() async throws {
        try await SQLTree.migrated { tree, connection in
            let comment = "select obj_description('api.user_create(text)'::regprocedure, 'pg_proc')"
            let before = try connection.execute(comment).scalar

            try tree.append("procedures/10_user_create.sql", "comment on function api.user_create(text) is 'changed';")
            try tree.write("procedures/99_broken.sql", "select 1 / 0;")
            let error = #expect(throws: Migrator.Failure.self) { try tree.migrator.migrate(on: connection) }
            #expect(error?.description.hasPrefix("99_broken.sql") == true, "\(String(describing: error))")
            #expect(try connection.execute(comment).scalar == before)
        }
    }

    @Test("the server's role may execute api functions but touch no table")
    func serverRoleHasNoTablePrivileges() async throws {
        let database = try await TestDatabase.create()
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
