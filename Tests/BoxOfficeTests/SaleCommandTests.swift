import Foundation
import Testing

@testable import BoxOffice

/// `boxoffice sale schedule|pause|resume|status`: each runs its owner-only
/// `api.sale_*` function against the database and prints the sale's state;
/// `boxoffice sale rate` shows or sets the one rate of admission of every
/// concert (`api.setting_set('new_users_per_minute', N)`).
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

    @Test("sale rate sets new_users_per_minute for every concert and shows it; a bad value exits 1 with the reason and changes nothing")
    func saleRate() async throws {
        let database = try await TestDatabase.create()
        let concert = try Fixtures.concert(database, dates: 1)
        let id = String(concert.concertId)
        let setting = "select value from app.settings where name = 'new_users_per_minute'"
        #expect(try database.scalar(setting) == "0")

        let set = try await Self.sale(database, "rate", "600")
        #expect(set.status == 0, "\(set.output)")
        #expect(set.output.contains("new_users_per_minute 600"), "\(set.output)")
        #expect(try database.scalar(setting) == "600")
        let shown = try await Self.sale(database, "rate")
        #expect(shown.status == 0 && shown.output.contains("new_users_per_minute 600"), "\(shown.output)")
        // the sale's state shows it, for this concert as for every other
        let status = try await Self.sale(database, "status", id)
        let row = try #require(status.output.split(separator: "\n").first { $0.hasPrefix(id + " ") }, "\(status.output)")
        #expect(row.split(separator: " ").last == "600", "the new users/min column: \(row)")

        let tooFast = try await Self.sale(database, "rate", "2000000")
        #expect(tooFast.status == 1, "\(tooFast.output)")
        #expect(tooFast.output.contains("CR001") && tooFast.output.contains("2000000 is out of range for new_users_per_minute"),
            "\(tooFast.output)")
        let words = try await Self.sale(database, "rate", "fast")
        #expect(words.status == 1, "\(words.output)")
        #expect(words.output.contains("CR001") && words.output.contains("fast is not a valid value for new_users_per_minute"),
            "\(words.output)")
        #expect(try database.scalar(setting) == "600", "a refused value changes nothing")

        let off = try await Self.sale(database, "rate", "0")
        #expect(off.status == 0 && off.output.contains("new_users_per_minute 0"), "\(off.output)")
        #expect(try database.scalar(setting) == "0")
    }
}
