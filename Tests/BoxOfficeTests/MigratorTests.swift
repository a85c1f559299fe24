import Foundation
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
        #expect(try migrator.migrate(on: connection) == files)
        #expect(try migrator.status(on: connection).isCurrent)
        let procedures = try connection.execute("select count(*) from pg_proc where pronamespace = 'api'::regnamespace").scalar

        #expect(try migrator.migrate(on: connection).isEmpty)
        #expect(try connection.execute("select count(*) from boxoffice_meta.schema_migrations").scalar == String(files.count))
        #expect(try connection.execute("select count(*) from pg_proc where pronamespace = 'api'::regnamespace").scalar == procedures)
        let expected = try migrator.expectedVersion()
        #expect(try connection.execute("select api.schema_version() ->> 'procedures'").scalar == expected.procedures)
    }

    @Test("refuses to run when an applied migration was edited")
    func editedMigrationRefused() throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("sql-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: TestPaths.sql, toPath: copy.path)
        defer { try? FileManager.default.removeItem(at: copy) }
        let database = try TestDatabase.create(empty: true)
        let connection = try database.admin()
        defer { connection.close() }
        let migrator = Migrator(directory: copy.path)
        try migrator.migrate(on: connection)

        let edited = copy.appendingPathComponent("migrations/0002_tables.sql")
        try (String(contentsOf: edited, encoding: .utf8) + "\n-- an innocent edit\n").write(to: edited, atomically: true, encoding: .utf8)

        #expect(try migrator.status(on: connection).changed == ["0002_tables.sql"])
        #expect(throws: Migrator.Failure.self) { try migrator.migrate(on: connection) }
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
