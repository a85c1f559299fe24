import Foundation
import Logging
import Testing

@testable import BoxOffice

/// What `boxoffice serve` does with the schema before it serves: nothing
/// when it is current (read-only, so the server's own role may start it),
/// migrate when it is behind and the connection may, one clear message when
/// it may not, and nothing at all when the database is ahead of this version.
@Suite("The migrate-on-start of serve")
struct MigrateOnStartTests {
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()
    static let current = Migrator(directory: TestPaths.sql)
    static let newer = "0999_next.sql"

    /// A newer version: one more migration and a changed procedure comment.
    static func newerTree(migration: Bool = true) throws -> SQLTree {
        let tree = try SQLTree.copy()
        if migration { try tree.add(migration: newer, "create table app.next_feature (note text);") }
        try tree.append("procedures/10_user_create.sql", "comment on function api.user_create(text) is 'newer';")
        return tree
    }

    static func comment(_ database: TestDatabase) throws -> String? {
        try database.scalar("select obj_description('api.user_create(text)'::regprocedure, 'pg_proc')")
    }

    @Test("a current database starts with boxoffice_api alone, and is ready")
    func currentAsServerRole() async throws {
        try await TestServer.with { server in
            let database = server.database
            #expect(try database.scalar("select has_database_privilege('boxoffice_api', current_database(), 'create')") == "f")
            let before = try database.scalar("select api.schema_version()::text")

            try Server.migrateIfBehind(Self.current, conninfo: database.apiConninfo, config: try Config(environment: ["ADMIT_INTERVAL_SECONDS": "1"]), logger: Self.logger)
            let api = try Connection.open(conninfo: database.apiConninfo)
            defer { api.close() }
            #expect(try Self.current.migrateIfBehind(on: api, logger: Self.logger) == .current)
            #expect(try Self.current.status(on: api).isCurrent)

            #expect(try database.scalar("select api.schema_version()::text") == before)
            #expect(try await server.client.get("/ready").status == 200)
        }
    }

    @Test("behind, boxoffice_api fails with one message saying to run boxoffice migrate, and changes nothing")
    func behindAsServerRole() async throws {
        let database = try await TestDatabase.create()
        for migration in [true, false] {
            let tree = try Self.newerTree(migration: migration)
            defer { tree.remove() }
            let before = try database.scalar("select api.schema_version()::text")
            let error = #expect(throws: Migrator.Failure.self) {
                try Server.migrateIfBehind(tree.migrator, conninfo: database.apiConninfo, logger: Self.logger)
            }
            let message = error?.description ?? ""
            #expect(message.contains("behind"), "\(message)")
            #expect(message.contains("`boxoffice migrate`") && message.contains("MIGRATE_DATABASE_URL"), "\(message)")
            #expect(!message.contains("permission denied"), "\(message)")
            #expect(try database.scalar("select api.schema_version()::text") == before)
            #expect(try database.scalar("select to_regclass('app.next_feature') is null") == "t")
            #expect(try Self.comment(database) != "newer")
        }
    }

    @Test("a fresh database: boxoffice_api gets the same message, and no bookkeeping is created")
    func freshAsServerRole() async throws {
        let database = try await TestDatabase.create(empty: true)
        let error = #expect(throws: Migrator.Failure.self) {
            try Server.migrateIfBehind(Self.current, conninfo: database.apiConninfo, logger: Self.logger)
        }
        #expect(error?.description.contains("MIGRATE_DATABASE_URL") == true, "\(error?.description ?? "")")
        #expect(try database.scalar("select to_regnamespace('boxoffice_meta') is null") == "t")
    }

    @Test("behind, the owner's connection migrates; then it is current")
    func behindAsOwner() async throws {
        let database = try await TestDatabase.create()
        let tree = try Self.newerTree()
        defer { tree.remove() }
        let admin = try database.admin()
        defer { admin.close() }
        #expect(try tree.migrator.migrateIfBehind(on: admin, logger: Self.logger) == .migrated([Self.newer]))
        #expect(try tree.migrator.migrateIfBehind(on: admin, logger: Self.logger) == .current)
        #expect(try Self.comment(database) == "newer")
        let api = try Connection.open(conninfo: database.apiConninfo)
        defer { api.close() }
        #expect(try tree.migrator.migrateIfBehind(on: api, logger: Self.logger) == .current)
    }

    @Test("an older version leaves a database a newer one migrated alone, as either role")
    func olderVersionLeavesNewerSchema() async throws {
        let database = try await TestDatabase.create()
        let tree = try Self.newerTree()
        defer { tree.remove() }
        let admin = try database.admin()
        defer { admin.close() }
        try tree.migrator.migrate(on: admin)
        let before = try database.scalar("select api.schema_version()::text")
        let schedule = "select schedule from app.jobs where name = 'queue_admit'"
        let scheduleBefore = try database.scalar(schedule)

        for conninfo in [database.apiConninfo, database.adminConninfo] {
            let connection = try Connection.open(conninfo: conninfo)
            defer { connection.close() }
            #expect(try Self.current.migrateIfBehind(on: connection, logger: Self.logger) == .ahead)
            #expect(try Self.current.status(on: connection).unknown.count == 1)
            // Not even ADMIT_INTERVAL_SECONDS is applied to a newer schema.
            try Server.migrateIfBehind(Self.current, conninfo: conninfo, config: try Config(environment: ["ADMIT_INTERVAL_SECONDS": "7"]), logger: Self.logger)
        }
        #expect(try database.scalar("select api.schema_version()::text") == before)
        #expect(try Self.comment(database) == "newer")
        #expect(try database.scalar(schedule) == scheduleBefore)

        let error = #expect(throws: Migrator.Failure.self) { try Self.current.migrate(on: admin) }
        #expect(error?.description.contains(Self.newer) == true, "\(error?.description ?? "")")
        #expect(try Self.comment(database) == "newer")
    }

    @Test("an older version does not put back procedures a newer one replaced; an explicit migrate does")
    func olderProceduresNotPutBack() async throws {
        let database = try await TestDatabase.create()
        let tree = try Self.newerTree(migration: false)
        defer { tree.remove() }
        let admin = try database.admin()
        defer { admin.close() }
        #expect(try tree.migrator.migrateIfBehind(on: admin, logger: Self.logger) == .migrated([]))
        #expect(try Self.comment(database) == "newer")

        for conninfo in [database.apiConninfo, database.adminConninfo] {
            let connection = try Connection.open(conninfo: conninfo)
            defer { connection.close() }
            #expect(try Self.current.migrateIfBehind(on: connection, logger: Self.logger) == .ahead)
        }
        #expect(try Self.comment(database) == "newer")

        // Going back on purpose: then the newer fingerprint is the replaced one.
        try Self.current.migrate(on: admin)
        #expect(try Self.comment(database) != "newer")
        #expect(try tree.migrator.migrateIfBehind(on: admin, logger: Self.logger) == .ahead)
        let seen = try #require(try Self.current.deployedVersion(on: admin)).proceduresSeen
        let expected = try Self.current.expectedVersion().procedures
        #expect(seen.count == 2 && seen.last == expected)
    }

    @Test("boxoffice serve as boxoffice_api alone: ready on a current database, one message on a behind one")
    func serveProcess() async throws {
        let database = try await TestDatabase.create()
        let instance = try await ServeProcess(
            database: database, instance: "api-only", environment: ["MIGRATE_DATABASE_URL": "", "SCHEDULER": "off"])
        #expect(try await instance.client.get("/ready").status == 200)
        #expect(instance.stop() == 0)

        let tree = try Self.newerTree()
        defer { tree.remove() }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("boxoffice-behind-\(UUID().uuidString.prefix(8)).log").path
        defer { unlink(log) }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BOXOFFICE_TEST") && $0.key != "MIGRATE_DATABASE_URL" }
        env["DATABASE_URL"] = database.apiConninfo
        env["BOXOFFICE_SQL_DIR"] = tree.path
        env["HTTP_PORT"] = "0"
        env["SCHEDULER"] = "off"
        let status = Subprocess.wait(try Subprocess.spawn([TestPaths.binary, "serve"], environment: env, outputPath: log))
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(status != 0)
        #expect(output.contains("MIGRATE_DATABASE_URL") && output.contains("`boxoffice migrate`"), "\(output)")
        #expect(!output.contains("listening"), "\(output)")
    }
}
