import Foundation
import Testing

@testable import BoxOffice

/// `boxoffice sale schedule|pause|resume|status`: each runs its owner-only
/// `api.sale_*` function against the database and prints the sale's state.
@Suite("boxoffice sale")
struct SaleCommandTests {
    static func sale(_ database: TestDatabase, _ arguments: String...) async throws -> (status: Int32, output: String) {
        try await ProcessRun.run(
            [TestPaths.binary, "sale"] + arguments,
            environment: CommandLineTests.environment(["DATABASE_URL": database.adminConninfo, "MIGRATE_DATABASE_URL": ""]))
    }

    @Test("schedule, pause, resume and status change and show the concert's sale; mistakes exit 1 with the reason")
    func saleCommands() async throws {
        let database = try await TestDatabase.create()
        let concert = try Fixtures.concert(database, dates: 1)
        let id = String(concert.concertId)

        let relative = try await Self.sale(database, "schedule", id, "+1h")
        #expect(relative.status == 0, "\(relative.output)")
        #expect(relative.output.contains("SCHEDULED"), "\(relative.output)")
        #expect(try database.scalar(
            "select abs(extract(epoch from sale_opens_at - now() - interval '1 hour')) < 60 from app.concerts where concert_id = $1::bigint",
            [id]) == "t")

        let absolute = try await Self.sale(database, "schedule", id, "2030-01-02T03:04:05Z")
        #expect(absolute.status == 0, "\(absolute.output)")
        #expect(absolute.output.contains("2030-01-02T03:04:05Z"), "\(absolute.output)")

        let paused = try await Self.sale(database, "pause", id)
        #expect(paused.status == 0 && paused.output.contains("PAUSED"), "\(paused.output)")
        #expect(try database.scalar("select sale_paused from app.concerts where concert_id = $1::bigint", [id]) == "t")

        let all = try await Self.sale(database, "status")
        #expect(all.status == 0, "\(all.output)")
        let row = try #require(all.output.split(separator: "\n").first { $0.hasPrefix(id + " ") }, "\(all.output)")
        #expect(row.contains("PAUSED") && row.contains("2030-01-02T03:04:05Z"), "\(row)")

        let resumed = try await Self.sale(database, "resume", id)
        #expect(resumed.status == 0 && resumed.output.contains("SCHEDULED"), "\(resumed.output)")
        #expect(try database.scalar("select sale_paused from app.concerts where concert_id = $1::bigint", [id]) == "f")
        let one = try await Self.sale(database, "status", id)
        #expect(one.output.split(separator: "\n").count == 2, "a header and one sale: \(one.output)")

        let unknown = try await Self.sale(database, "schedule", "999999999", "now")
        #expect(unknown.status == 1 && unknown.output.contains("CR102"), "\(unknown.output)")
        let badTime = try await Self.sale(database, "schedule", id, "next tuesday-ish")
        #expect(badTime.status == 1 && badTime.output.contains("22007"), "\(badTime.output)")

        // once the sale has opened, it cannot be scheduled again
        _ = try database.scalar(
            "update app.concerts set sale_opens_at = now(), sale_opened_at = now(), sale_prequeued = 0 where concert_id = $1::bigint returning 1",
            [id])
        let again = try await Self.sale(database, "schedule", id, "+1h")
        #expect(again.status == 1 && again.output.contains("CR207"), "\(again.output)")
        #expect(try database.scalar("select sale_opens_at <= now() from app.concerts where concert_id = $1::bigint", [id]) == "t")
    }
}
