import Foundation
import Testing

@testable import BoxOffice

/// Data for end-to-end tests: users through the API, concerts straight into
/// the tables (as the superuser), tokens through the API and admitted by
/// running the admission job.
enum Fixtures {
    struct Concert: Sendable {
        var concertId: Int64
        var dateIds: [Int64]
    }

    /// A user made through POST /api/users.
    static func user(_ client: HTTPTestClient, name: String = "fan") async throws -> Int64 {
        let answer = try await client.post("/api/users", ["name": name])
        return try #require(answer.int("userId"), "POST /api/users answered \(answer.status)")
    }

    /// `count` users in one statement, for the big storms.
    static func users(_ database: TestDatabase, count: Int) throws -> [Int64] {
        let connection = try database.admin()
        defer { connection.close() }
        let rows = try connection.execute(
            "insert into app.users (name) select 'fan-' || g from generate_series(1, $1::integer) g returning user_id",
            [String(count)])
        return rows.rows.compactMap { $0[0].flatMap { Int64($0) } }
    }

    /// A concert with `dates` future dates (one a day from tomorrow) and 50
    /// seats on each, all at `price`.
    static func concert(_ database: TestDatabase, dates: Int = 2, price: Int = 100_000) throws -> Concert {
        let connection = try database.admin()
        defer { connection.close() }
        let concertId = try #require(Int64(try connection.execute(
            "insert into app.concerts (title, venue) values ('Test Night', 'Test Hall') returning concert_id"
        ).scalar ?? ""))
        try connection.execute("insert into app.queues (concert_id) values ($1::bigint)", [String(concertId)])
        let dates = try connection.execute("""
            insert into app.concert_dates (concert_id, starts_at)
            select $1::bigint, date_trunc('day', now()) + make_interval(days => g, hours => 19)
            from generate_series(1, $2::integer) g
            returning date_id
            """, [String(concertId), String(dates)])
        try connection.execute("""
            insert into app.seats (date_id, seat_no, concert_id, price)
            select d.date_id, s, d.concert_id, $2::bigint
            from app.concert_dates d cross join generate_series(1, 50) s
            where d.concert_id = $1::bigint
            """, [String(concertId), String(price)])
        return Concert(concertId: concertId, dateIds: dates.rows.compactMap { $0[0].flatMap { Int64($0) } })
    }

    /// Joins the queue through the API; returns the token.
    static func join(_ client: HTTPTestClient, userId: Int64, concertId: Int64) async throws -> String {
        let answer = try await client.post("/api/queue/tokens", ["userId": userId, "concertId": concertId])
        return try #require(answer.string("token"), "POST /api/queue/tokens answered \(answer.status): \(answer.json)")
    }

    /// Runs the admission job once with the given cap; returns how many it admitted.
    @discardableResult
    static func admit(_ database: TestDatabase, cap: Int = 100) throws -> Int {
        let connection = try database.admin()
        defer { connection.close() }
        try connection.execute("select api.setting_set('queue_active_cap', $1)", [String(cap)])
        return Int(try connection.execute("select api.queue_admit()").scalar ?? "0") ?? 0
    }

    /// Admits until every one of `tokens` is ACTIVE (up to 10 s): the server
    /// under test runs its own admission job, and a run of it that holds the
    /// line's closing at that moment makes this run admit from the line as it
    /// was (queue_line_close answers the last committed close at once), so one
    /// call is not always enough.
    static func admitAll(_ database: TestDatabase, tokens: [String], cap: Int) throws {
        struct NotAdmitted: Error, CustomStringConvertible { var description: String }
        let connection = try database.admin()
        defer { connection.close() }
        try connection.execute("select api.setting_set('queue_active_cap', $1)", [String(cap)])
        let list = "{" + tokens.joined(separator: ",") + "}"
        let deadline = Date().addingTimeInterval(10)
        while true {
            _ = try connection.execute("select api.queue_admit()")
            let active = try connection.execute(
                "select count(*) from app.queue_tickets where token = any ($1::uuid[]) and status = 'ACTIVE'", [list]).scalar
            if active == String(tokens.count) { return }
            guard Date() < deadline else {
                throw NotAdmitted(description: "\(active ?? "?") of \(tokens.count) tokens ACTIVE after 10 s of admission")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// A user with an ACTIVE token for the concert (joined, then admitted).
    static func activeToken(_ client: HTTPTestClient, _ database: TestDatabase, concertId: Int64, cap: Int = 10_000) async throws -> (userId: Int64, token: String) {
        let userId = try await user(client)
        let token = try await join(client, userId: userId, concertId: concertId)
        try admitAll(database, tokens: [token], cap: cap)
        return (userId, token)
    }

    /// ACTIVE tokens for many users at once: join concurrently, admit once.
    static func activeTokens(_ client: HTTPTestClient, _ database: TestDatabase, concertId: Int64, count: Int) async throws -> [(userId: Int64, token: String)] {
        let userIds = try users(database, count: count)
        let tokens = try await withThrowingTaskGroup(of: (Int64, String).self) { group in
            for userId in userIds {
                group.addTask { (userId, try await join(client, userId: userId, concertId: concertId)) }
            }
            return try await group.reduce(into: [(Int64, String)]()) { $0.append($1) }
        }
        try admitAll(database, tokens: tokens.map(\.1), cap: count + 100)
        return tokens.map { (userId: $0.0, token: $0.1) }
    }

    /// Puts money on a user's balance through the API.
    static func charge(_ client: HTTPTestClient, token: String, amount: Int) async throws {
        let answer = try await client.post("/api/balance/charge", ["amount": amount], token: token)
        #expect(answer.status == 200, "charge answered \(answer.status): \(answer.json)")
    }

    /// The rows of api.audit(): broken invariants (none expected).
    static func audit(_ database: TestDatabase) throws -> [String] {
        let connection = try database.admin()
        defer { connection.close() }
        return try connection.execute("select invariant || ' ' || subject || ': ' || detail from api.audit()").rows.compactMap { $0[0] }
    }
}
