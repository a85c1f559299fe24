import Foundation
import Testing

@testable import BoxOffice

/// How the instances' HTTP pools reach PostgreSQL.
enum DatabaseRoute: String, Sendable, CaseIterable, CustomTestStringConvertible {
    /// DATABASE_URL is the cluster itself.
    case direct
    /// DATABASE_URL is PgBouncer in transaction mode (scripts/test starts it),
    /// DATABASE_SESSION_URL the cluster, so DB_PREPARED_STATEMENTS=auto
    /// turns prepared statements off.
    case pgbouncer

    var testDescription: String { rawValue }
}

/// Several instances: two real `boxoffice serve` processes on one
/// database, requests alternating between them, the same outcomes as one;
/// and the same through PgBouncer in transaction mode, where the two
/// instances' sessions share server sessions transaction by transaction.
/// Both run with SCHEDULER=off, so the tests admit tokens themselves.
///
/// Each scenario proves its race before its outcome: a test session holds
/// the contested row (the seat, the balance) while the requests are sent,
/// and the requests are released only once at least two of the server's
/// sessions wait on it at the same moment (PaymentFixtures.atOnceBehindLock).
@Suite("Two instances on one database", .serialized)
struct MultiInstanceTests {
    /// Starts two instances on a fresh database (one after the other, so only
    /// one checks the schema at a time), runs `body` with their clients and
    /// stops both, whatever happened. Through PgBouncer, checks afterwards
    /// that the requests' transactions really went through it.
    func withTwoInstances(
        _ route: DatabaseRoute = .direct, _ body: (TestDatabase, [HTTPTestClient]) async throws -> Void
    ) async throws {
        let database = try await TestDatabase.create()
        // The requests wait on the test's lock for as long as it takes a
        // loaded machine to show them waiting: no lock or statement timeout
        // and no pool wait may end them first (the defaults are 2, 5 and 30 s).
        var environment = [
            "SCHEDULER": "off", "DB_LOCK_TIMEOUT_SECONDS": "300", "DB_STATEMENT_TIMEOUT_SECONDS": "300",
            "DB_POOL_WAIT_MS": "300000",
        ]
        if route == .pgbouncer {
            environment["DATABASE_URL"] = try database.pooledConninfo()
            environment["DATABASE_SESSION_URL"] = database.apiConninfo
        }
        let before = route == .pgbouncer ? try PgBouncerFixtures.transactions(database: database.name) : 0
        let first = try await ServeProcess(database: database, instance: "one", environment: environment)
        defer { first.stop() }
        let second = try await ServeProcess(database: database, instance: "two", environment: environment)
        defer { second.stop() }
        do {
            try await body(database, [first.client, second.client])
        } catch {
            Issue.record("instance one:\n\(first.log.suffix(2_000))\ninstance two:\n\(second.log.suffix(2_000))")
            throw error
        }
        #expect(await first.stopped() == 0)
        #expect(await second.stopped() == 0)
        if route == .pgbouncer {
            // SHOW STATS counts transactions per database; the scenarios make
            // at least ten requests each through the instances.
            let through = try PgBouncerFixtures.transactions(database: database.name) - before
            #expect(through >= 10, "PgBouncer served \(through) transactions of \(database.name)")
            #expect(!first.log.contains("already exists") && !second.log.contains("already exists"))
        }
    }

    @Test(
        "the seat storm across two instances: 100 ACTIVE users on one seat, one 201 and 99 SEAT_TAKEN",
        arguments: DatabaseRoute.allCases)
    func seatStorm(route: DatabaseRoute) async throws {
        try await withTwoInstances(route) { database, clients in
            let concert = try Fixtures.concert(database)
            let users = try await Fixtures.activeTokens(clients[0], database, concertId: concert.concertId, count: 100)
            #expect(try PaymentFixtures.integer(database,
                "select count(*) from app.queue_tickets where status = 'ACTIVE'") == 100)
            let dateId = concert.dateIds[0]

            // The seat's row held: every hold waits on it in its conditional update.
            let answers = try await PaymentFixtures.atOnceBehindLock(
                database, lock: "select 1 from app.seats where date_id = $1::bigint and seat_no = 17 for update",
                [String(dateId)], function: "seat_hold", 100
            ) { index in
                try await clients[index % 2].post(
                    "/api/reservations", ["concertId": concert.concertId, "dateId": dateId, "seatNo": 17],
                    token: users[index].token)
            }

            #expect(PaymentFixtures.tally(answers) == ["201": 1, "409 SEAT_TAKEN": 99])
            let winner = try #require(answers.firstIndex { $0.status == 201 })
            #expect(try database.scalar(
                "select status || ' ' || user_id from app.seats where date_id = $1::bigint and seat_no = 17",
                [String(dateId)]) == "HELD \(users[winner].userId)")
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.reservations") == 1)
            #expect(try Fixtures.audit(database) == [])
        }
    }

    @Test(
        "100 concurrent charges across two instances: all 200, the balance up by exactly 100 000, 100 ledger rows",
        arguments: DatabaseRoute.allCases)
    func concurrentCharges(route: DatabaseRoute) async throws {
        try await withTwoInstances(route) { database, clients in
            let concert = try Fixtures.concert(database)
            let (userId, token) = try await Fixtures.activeToken(clients[0], database, concertId: concert.concertId)

            // The user's row held: every charge waits on it to add its amount.
            let answers = try await PaymentFixtures.atOnceBehindLock(
                database, lock: "select 1 from app.users where user_id = $1::bigint for update",
                [String(userId)], function: "balance_charge", 100
            ) { index in
                try await PaymentFixtures.charge(clients[index % 2], token: token, amount: 1_000)
            }

            #expect(PaymentFixtures.tally(answers) == ["200": 100])
            #expect(Set(answers.compactMap { $0.int("balance") }) == Set((1...100).map { Int64($0 * 1_000) }))
            #expect(try PaymentFixtures.balance(database, userId) == 100_000)
            #expect(try PaymentFixtures.integer(database,
                "select count(*) from app.ledger where user_id = $1::bigint and kind = 'CHARGE'", [String(userId)]) == 100)
            #expect(try Fixtures.audit(database) == [])
        }
    }

    @Test(
        "10 concurrent payments of one reservation across two instances: exactly one 201, debited once",
        arguments: DatabaseRoute.allCases)
    func doublePayment(route: DatabaseRoute) async throws {
        try await withTwoInstances(route) { database, clients in
            let concert = try Fixtures.concert(database, price: 100_000)
            let (userId, token) = try await Fixtures.activeToken(clients[0], database, concertId: concert.concertId)
            try await Fixtures.charge(clients[1], token: token, amount: 300_000)
            let reservationId = try await PaymentFixtures.hold(clients[0], token: token, concert: concert, seatNo: 7)

            // The reservation's seat held: every payment waits on it, its first write.
            let answers = try await PaymentFixtures.atOnceBehindLock(
                database, lock: "select 1 from app.seats s join app.reservations r using (date_id, seat_no) where r.reservation_id = $1::bigint for update of s",
                [String(reservationId)], function: "payment_create", 10
            ) { index in
                try await PaymentFixtures.pay(clients[index % 2], token: token, reservationId: reservationId)
            }

            // As on one instance (PaymentHTTPTests.concurrentPaymentsOfOneReservation):
            // the losers share the winner's token, which the winning payment used
            // up, so 410 TOKEN_EXPIRED (the token is checked before the rule) is as legitimate
            // as 409 RESERVATION_NOT_PAYABLE; never a second 201.
            let tally = PaymentFixtures.tally(answers)
            #expect(tally["201"] == 1, "\(tally)")
            #expect(tally.keys.allSatisfy { ["201", "409 RESERVATION_NOT_PAYABLE", "410 TOKEN_EXPIRED"].contains($0) }, "\(tally)")
            #expect(try PaymentFixtures.balance(database, userId) == 200_000)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.payments") == 1)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.ledger where kind = 'PAYMENT'") == 1)
            #expect(try database.scalar("select status from app.reservations where reservation_id = $1::bigint", [String(reservationId)]) == "PAID")
            #expect(try Fixtures.audit(database) == [])
        }
    }
}
