import Foundation
import Testing

@testable import BoxOffice

/// Holds, charges and payments through the API, requests fired at once, and a
/// picture of every table money and seats live in, for the payment tests.
enum PaymentFixtures {
    /// Holds seat `seatNo` on the concert's date `date` (an index into
    /// `dateIds`) through POST /api/reservations; returns the reservation id.
    static func hold(
        _ client: HTTPTestClient, token: String, concert: Fixtures.Concert, date: Int = 0, seatNo: Int
    ) async throws -> Int64 {
        let answer = try await client.post(
            "/api/reservations",
            ["concertId": concert.concertId, "dateId": concert.dateIds[date], "seatNo": seatNo],
            token: token)
        #expect(answer.status == 201, "POST /api/reservations answered \(answer.status): \(answer.json)")
        return try #require(answer.int("reservationId"), "POST /api/reservations answered \(answer.status): \(answer.json)")
    }

    /// Lets `seconds` pass for a hold without waiting: the reservation's
    /// created_at and expires_at and its seat's hold_expires_at move that far
    /// into the past, as the superuser (nothing else changes: the seat stays
    /// HELD and the reservation HELD, as before any sweep). The API's
    /// functions read the time from the database clock, so to them the hold
    /// was taken `seconds` earlier, whatever the load on the machine.
    static func ageHold(_ database: TestDatabase, reservationId: Int64, seconds: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let moved = try database.scalar("""
            with reservation as (
              update app.reservations r
              set created_at = r.created_at - make_interval(secs => $2::integer),
                  expires_at = r.expires_at - make_interval(secs => $2::integer)
              where r.reservation_id = $1::bigint and r.status = 'HELD'
              returning 1),
            seat as (
              update app.seats s
              set hold_expires_at = s.hold_expires_at - make_interval(secs => $2::integer)
              where s.reservation_id = $1::bigint and s.status = 'HELD'
              returning 1)
            select (select count(*) from reservation) || ' ' || (select count(*) from seat)
            """, [String(reservationId), String(seconds)])
        #expect(moved == "1 1", "aged (reservations, seats): \(moved ?? "-")", sourceLocation: sourceLocation)
    }

    /// POST /api/payments, with an Idempotency-Key when `key` is given.
    static func pay(_ client: HTTPTestClient, token: String, reservationId: Int64, key: String? = nil) async throws -> HTTPTestClient.Answer {
        try await client.post(
            "/api/payments", ["reservationId": reservationId], token: token,
            headers: key.map { ["Idempotency-Key": $0] } ?? [:])
    }

    /// POST /api/balance/charge, with an Idempotency-Key when `key` is given.
    static func charge(_ client: HTTPTestClient, token: String, amount: Int, key: String? = nil) async throws -> HTTPTestClient.Answer {
        try await client.post(
            "/api/balance/charge", ["amount": amount], token: token,
            headers: key.map { ["Idempotency-Key": $0] } ?? [:])
    }

    /// The user's balance as stored.
    static func balance(_ database: TestDatabase, _ userId: Int64) throws -> Int64 {
        try #require(Int64(try database.scalar("select balance from app.users where user_id = $1::bigint", [String(userId)]) ?? ""))
    }

    /// A count (or any integer) from one statement.
    static func integer(_ database: TestDatabase, _ sql: String, _ params: [String?] = []) throws -> Int64 {
        try #require(Int64(try database.scalar(sql, params) ?? ""), "no integer from \(sql)")
    }

    /// `count` calls of `body` at once (a task group); the results in index order.
    static func atOnce<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            for index in 0..<count {
                group.addTask { (index, try await body(index)) }
            }
            var results = [T?](repeating: nil, count: count)
            for try await (index, value) in group { results[index] = value }
            return results.map { $0! }
        }
    }

    /// The server's sessions of `watcher`'s database (boxoffice_api, straight
    /// or through PgBouncer, whose server sessions log in as that role too)
    /// that wait on a lock, in a statement calling `function` when one is named.
    static func waitingOnLock(_ watcher: Connection, function: String = "") throws -> Int {
        try #require(Int(try watcher.execute("""
            select count(*) from pg_stat_activity
            where datname = current_database() and usename = 'boxoffice_api' and state = 'active'
              and wait_event_type = 'Lock' and strpos(query, $1) > 0
            """, [function]).scalar ?? ""))
    }

    /// Timeouts for a server whose requests wait on a test's lock for as long
    /// as a loaded machine takes to show them waiting (atOnceBehindLock): the
    /// defaults would end a wait after 2 s.
    static let patient = Database.Timeouts(statementSeconds: 300, lockSeconds: 300, idleInTransactionSeconds: 300)

    /// `atOnce(count, body)` with proof that the calls raced in the database:
    /// a superuser session holds the row lock `lock` takes (a SELECT ... FOR
    /// UPDATE, or an UPDATE ... RETURNING, in a transaction, as psql would)
    /// while the calls are sent; once at least `atLeast` of the server's
    /// sessions wait on a lock in `function` at the same moment (polled, up
    /// to `seconds`), the holder ends with `release` (rollback, or commit to
    /// make the waiters' own writes conflict) and the answers are returned.
    /// `atLeast` defaults to `count` or 8 (a test server's pool), whichever
    /// is smaller. Sent one after another, the calls would have one waiter at
    /// most, and the expectation here fails whatever the outcome. The lock is
    /// released whatever happens.
    static func atOnceBehindLock<T: Sendable>(
        _ database: TestDatabase, lock: String, _ params: [String?] = [], function: String,
        atLeast: Int? = nil, release: String = "rollback", seconds: Double = 60,
        _ count: Int, _ body: @escaping @Sendable (Int) async throws -> T,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [T] {
        let atLeast = atLeast ?? min(count, 8)
        let holder = try database.admin()
        defer { holder.close() }
        let watcher = try database.admin()
        defer { watcher.close() }
        try holder.run(script: "begin")
        let locked = try holder.execute(lock, params).rows.count
        try #require(locked > 0, "\(lock) locked no row", sourceLocation: sourceLocation)
        let calls = Task { try await atOnce(count, body) }
        var most = 0
        do {
            let deadline = Date().addingTimeInterval(seconds)
            while most < atLeast, Date() < deadline {
                most = max(most, try waitingOnLock(watcher, function: function))
                if most < atLeast { try await Task.sleep(for: .milliseconds(50)) }
            }
        } catch {
            try? holder.run(script: "rollback")
            _ = try? await calls.value
            throw error
        }
        try holder.run(script: release)
        #expect(most >= atLeast,
                "the race did not happen: at most \(most) of the server's sessions waited at once on the lock in \(function) (\(seconds) s)",
                sourceLocation: sourceLocation)
        return try await calls.value
    }

    /// Answers counted by "status CODE" ("201", "409 SEAT_TAKEN"...).
    static func tally(_ answers: [HTTPTestClient.Answer]) -> [String: Int] {
        answers.reduce(into: [:]) { counts, answer in
            counts[answer.errorCode.map { "\(answer.status) \($0)" } ?? "\(answer.status)", default: 0] += 1
        }
    }

    /// Everything a charge or a payment can change, as one comparable text:
    /// balances, the ledger, payments, outbox events, seats that are not free,
    /// reservations, tickets and idempotency keys. Equal before and after a
    /// refused request means the request changed nothing.
    static func state(_ database: TestDatabase) throws -> String {
        try database.scalar("""
            select concat_ws(E'\\n',
              'users ' || coalesce((select string_agg(user_id || ':' || balance, ' ' order by user_id) from app.users), ''),
              'ledger ' || coalesce((select string_agg(entry_id || ':' || user_id || ':' || kind || ':' || amount || ':' || balance_after, ' ' order by entry_id) from app.ledger), ''),
              'payments ' || coalesce((select string_agg(payment_id || ':' || reservation_id || ':' || amount, ' ' order by payment_id) from app.payments), ''),
              'outbox ' || (select count(*) from app.outbox),
              'seats ' || coalesce((select string_agg(date_id || '/' || seat_no || ':' || status || ':' || coalesce(reservation_id::text, '-'), ' ' order by date_id, seat_no) from app.seats where status <> 'FREE'), ''),
              'reservations ' || coalesce((select string_agg(reservation_id || ':' || status, ' ' order by reservation_id) from app.reservations), ''),
              'tickets ' || coalesce((select string_agg(concert_id || '/' || queue_no || ':' || status, ' ' order by concert_id, queue_no) from app.queue_tickets), ''),
              'keys ' || coalesce((select string_agg(user_id || ':' || key || ':' || coalesce(status::text, '-'), ' ' order by user_id, key) from app.idempotency_keys), ''))
            """) ?? ""
    }

    /// Waits (polling, up to `seconds`) until `sql` returns true.
    static func waitUntil(_ database: TestDatabase, _ sql: String, _ params: [String?] = [], seconds: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try database.scalar(sql, params) == "t" { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("waited \(seconds) s in vain for: \(sql)")
    }
}
