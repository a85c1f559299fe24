import Foundation
import Testing

@testable import BoxOffice

/// `boxoffice audit`, the real binary: exit status 0 and "all invariants
/// hold" on a consistent database, 1 and the broken invariant's row when
/// something is wrong.
@Suite("boxoffice audit")
struct AuditCommandTests {
    /// Runs `boxoffice audit` against `database`: its exit status and output.
    static func audit(_ database: TestDatabase) throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).out").path
        defer { unlink(log) }
        let status = Subprocess.wait(try Subprocess.spawn(
            [TestPaths.binary, "audit"],
            environment: ProcessInfo.processInfo.environment.merging([
                "DATABASE_URL": database.adminConninfo, "MIGRATE_DATABASE_URL": "",
                "BOXOFFICE_SQL_DIR": TestPaths.sql, "LOG_LEVEL": "error",
            ]) { _, new in new },
            outputPath: log))
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    @Test("exit status 0 when every invariant holds, 1 with the broken one's row when a balance is made up")
    func exitStatus() async throws {
        let database = try await TestDatabase.create()
        let clean = try Self.audit(database)
        #expect(clean.status == 0, "\(clean.output)")
        #expect(clean.output.contains("all invariants hold"))

        let userId = try #require(try database.scalar("insert into app.users (name) values ('audit') returning user_id"))
        // Money from nowhere: a balance with no ledger row behind it.
        try database.scalar("update app.users set balance = 500 where user_id = $1", [userId])
        let broken = try Self.audit(database)
        #expect(broken.status == 1, "\(broken.output)")
        #expect(broken.output.contains("user \(userId)"), "\(broken.output)")
    }
}
