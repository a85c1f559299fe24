import Foundation
import Testing

@testable import BoxOffice

/// Over real HTTP: balance, charges and payments, at once and one at a
/// time, exactly once, and nothing changed by a refused request.
@Suite("Balance and payments end to end")
struct PaymentHTTPTests {
    typealias Answer = HTTPTestClient.Answer

    // MARK: - Concurrency

    @Test("100 concurrent charges of 1 000 to one user all land: balance up by exactly 100 000, 100 ledger rows")
    func concurrentCharges() async throws {
        try await TestServer.with(timeouts: PaymentFixtures.patient) { server in
            let concert = try Fixtures.concert(server.database)
            let (userId, token) = try await Fixtures.activeToken(server.client, server.database, concertId: concert.concertId)
            let client = server.client

            // The user's row held: every charge waits on it to add its amount.
            let answers = try await PaymentFixtures.atOnceBehindLock(
                server.database, lock: "select 1 from app.users where user_id = $1::bigint for update",
                [String(userId)], function: "balance_charge", 100
            ) { _ in
                try await PaymentFixtures.charge(client, token: token, amount: 1_000)
            }

            #expect(PaymentFixtures.tally(answers) == ["200": 100])
            #expect(answers.allSatisfy { $0.int("userId") == userId })
            // Each charge saw its own balance after it: 1 000, 2 000, ... 100 000, once each.
            #expect(Set(answers.compactMap { $0.int("balance") }) == Set((1...100).map { Int64($0 * 1_000) }))
            #expect(try PaymentFixtures.balance(server.database, userId) == 100_000)
            #expect(try PaymentFixtures.integer(server.database,
                "select count(*) from app.ledger where user_id = $1::bigint and kind = 'CHARGE' and amount = 1000", [String(userId)]) == 100)
            // The running balance climbs by 1 000 per row in entry order.
            #expect(try server.database.scalar("""
                select bool_and(balance_after = 1000 * n) from (
                  select balance_after, row_number() over (order by entry_id) n from app.ledger where user_id = $1::bigint) l
                """, [String(userId)]) == "t")
            #expect(try Fixtures.audit(server.database) == [])
        }
    }

    @Test("10 concurrent payments of one reservation: exactly one 201, debited once, one payment row")
    func concurrentPaymentsOfOneReservation() async throws {
        try await TestServer.with(timeouts: PaymentFixtures.patient) { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database, price: 100_000)
            let (userId, token) = try await Fixtures.activeToken(client, database, concertId: concert.concertId)
            try await Fixtures.charge(client, token: token, amount: 300_000)
            let reservationId = try await PaymentFixtures.hold(client, token: token, concert: concert, seatNo: 7)

            // The seat's row held: every payment waits on it, its first write.
            let answers = try await PaymentFixtures.atOnceBehindLock(
                database, lock: "select 1 from app.seats s join app.reservations r using (date_id, seat_no) where r.reservation_id = $1::bigint for update of s",
                [String(reservationId)], function: "payment_create", 10
            ) { _ in
                try await PaymentFixtures.pay(client, token: token, reservationId: reservationId)
            }

            // One might expect "the others 409 RESERVATION_NOT_PAYABLE". But the
            // ten requests share one token, and the winning payment uses it up in
            // the same transaction that marks the reservation PAID, and the API
            // checks the token (410) before the rule (409). Both answers are
            // right for a duplicate:
            // - 410 TOKEN_EXPIRED when its token check sees the winner's commit:
            //   it started after it, or (SERIALIZABLE) it ran alongside, failed
            //   with 40001 on the seat's row lock and was retried on a snapshot
            //   that has the token USED. This server always answers so.
            // - 409 RESERVATION_NOT_PAYABLE when it passed the token check before
            //   the winner committed and then found the reservation PAID under
            //   the lock (the READ COMMITTED path payment_create also covers).
            // What may never happen: a second 201, a second debit, or any other
            // answer.
            let tally = PaymentFixtures.tally(answers)
            #expect(tally["201"] == 1, "\(tally)")
            #expect(tally.keys.allSatisfy { ["201", "409 RESERVATION_NOT_PAYABLE", "410 TOKEN_EXPIRED"].contains($0) }, "\(tally)")
            #expect(tally.values.reduce(0, +) == 10)

            let paid = try #require(answers.first { $0.status == 201 })
            #expect(paid.int("reservationId") == reservationId)
            #expect(paid.int("amount") == 100_000)
            #expect(paid.string("status") == "COMPLETED")
            #expect(try PaymentFixtures.balance(database, userId) == 200_000)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.payments") == 1)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.ledger where kind = 'PAYMENT'") == 1)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.outbox where kind = 'payment.completed'") == 1)
            #expect(try database.scalar("select status from app.reservations where reservation_id = $1::bigint", [String(reservationId)]) == "PAID")
            #expect(try database.scalar("select status from app.seats where reservation_id = $1::bigint", [String(reservationId)]) == "SOLD")
            #expect(try database.scalar("select status from app.queue_tickets where token = $1::uuid", [token]) == "USED")
            #expect(try Fixtures.audit(database) == [])
        }
    }

    @Test("two holds, money for one, paid at once (a token per concert): one 201, one 402, the balance never negative")
    func twoHoldsMoneyForOne() async throws {
        try await TestServer.with(timeouts: PaymentFixtures.patient) { server in
            let database = server.database
            let client = server.client
            // One token pays for one concert only, and a user has one live
            // ticket per concert, so two payments of one user that can both
            // get past the token are payments for two concerts. Ten users race
            // at once, each paying both holds with money for one.
            let first = try Fixtures.concert(database, dates: 1, price: 100_000)
            let second = try Fixtures.concert(database, dates: 1, price: 100_000)
            let userIds = try Fixtures.users(database, count: 10)
            var tokens: [(first: String, second: String)] = []
            for userId in userIds {
                tokens.append((try await Fixtures.join(client, userId: userId, concertId: first.concertId),
                               try await Fixtures.join(client, userId: userId, concertId: second.concertId)))
            }
            try Fixtures.admit(database, cap: 100)
            var holds: [(first: Int64, second: Int64)] = []
            for (index, token) in tokens.enumerated() {
                holds.append((try await PaymentFixtures.hold(client, token: token.first, concert: first, seatNo: index + 1),
                              try await PaymentFixtures.hold(client, token: token.second, concert: second, seatNo: index + 1)))
                try await Fixtures.charge(client, token: token.first, amount: 150_000)
            }
            let fixedTokens = tokens
            let fixedHolds = holds

            // The users' rows held: each payment takes its seat, then waits on
            // its user's balance with the user's other payment.
            let ids = "{" + userIds.map(String.init).joined(separator: ",") + "}"
            let answers = try await PaymentFixtures.atOnceBehindLock(
                database, lock: "select 1 from app.users where user_id = any($1::bigint[]) for update",
                [ids], function: "payment_create", 20
            ) { index in
                let user = index / 2
                return index % 2 == 0
                    ? try await PaymentFixtures.pay(client, token: fixedTokens[user].first, reservationId: fixedHolds[user].first)
                    : try await PaymentFixtures.pay(client, token: fixedTokens[user].second, reservationId: fixedHolds[user].second)
            }

            #expect(PaymentFixtures.tally(answers) == ["201": 10, "402 INSUFFICIENT_BALANCE": 10])
            for (user, userId) in userIds.enumerated() {
                let pair = [answers[2 * user], answers[2 * user + 1]]
                #expect(pair.map(\.status).sorted() == [201, 402], "user \(userId): \(pair.map(\.status))")
                #expect(try PaymentFixtures.balance(database, userId) == 50_000)
                #expect(try PaymentFixtures.integer(database,
                    "select count(*) from app.payments where user_id = $1::bigint", [String(userId)]) == 1)
                // The unpaid hold is untouched: still HELD, its token still ACTIVE.
                let unpaid = pair[0].status == 201 ? fixedHolds[user].second : fixedHolds[user].first
                let unpaidToken = pair[0].status == 201 ? fixedTokens[user].second : fixedTokens[user].first
                #expect(try database.scalar("select status from app.reservations where reservation_id = $1::bigint", [String(unpaid)]) == "HELD")
                #expect(try database.scalar("select status from app.queue_tickets where token = $1::uuid", [unpaidToken]) == "ACTIVE")
            }
            #expect(try PaymentFixtures.integer(database, "select min(balance_after) from app.ledger") >= 0)
            #expect(try PaymentFixtures.integer(database, "select min(balance) from app.users") >= 0)
            #expect(try Fixtures.audit(database) == [])
        }
    }

    @Test("two holds on one token, money for one, paid at once: one 201; the other 402, or 410 once the token is used up")
    func twoHoldsOneToken() async throws {
        try await TestServer.with(timeouts: PaymentFixtures.patient) { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database, price: 100_000)
            let (userId, token) = try await Fixtures.activeToken(client, database, concertId: concert.concertId)
            let holds = [
                try await PaymentFixtures.hold(client, token: token, concert: concert, seatNo: 1),
                try await PaymentFixtures.hold(client, token: token, concert: concert, seatNo: 2),
            ]
            try await Fixtures.charge(client, token: token, amount: 150_000)

            // The user's row held: both payments take their seats, then wait on
            // the balance.
            let answers = try await PaymentFixtures.atOnceBehindLock(
                database, lock: "select 1 from app.users where user_id = $1::bigint for update",
                [String(userId)], function: "payment_create", 2
            ) { index in
                try await PaymentFixtures.pay(client, token: token, reservationId: holds[index])
            }

            // Both payments carry the one token and the winner uses it up. A
            // loser whose snapshot still has the token ACTIVE also has the full
            // balance (both change in the winner's one transaction), so it only
            // fails on the debit's row lock (40001) and is retried, and the
            // retry meets the used-up token first: the API puts the token's 410 before
            // 402. 402 is the answer when the gate passes, as in the test above.
            let tally = PaymentFixtures.tally(answers)
            #expect(tally["201"] == 1, "\(tally)")
            #expect(tally.keys.allSatisfy { ["201", "402 INSUFFICIENT_BALANCE", "410 TOKEN_EXPIRED"].contains($0) }, "\(tally)")
            #expect(try PaymentFixtures.balance(database, userId) == 50_000)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.payments") == 1)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.reservations where status = 'HELD'") == 1)
            #expect(try PaymentFixtures.integer(database, "select min(balance_after) from app.ledger") >= 0)
            #expect(try Fixtures.audit(database) == [])
        }
    }

    @Test("a charge and a payment at once on one balance both succeed with no lost update")
    func chargeAndPaymentAtOnce() async throws {
        try await TestServer.with(timeouts: PaymentFixtures.patient) { server in
            let database = server.database
            let client = server.client
            // The charge goes with the user's token for another concert ("any
            // live" token): the payment uses up its own token, and a charge
            // sent with that one could be refused 410 depending on the order.
            let sold = try Fixtures.concert(database, dates: 1, price: 60_000)
            let other = try Fixtures.concert(database, dates: 1)
            let userIds = try Fixtures.users(database, count: 10)
            var tokens: [(pay: String, charge: String)] = []
            for userId in userIds {
                tokens.append((try await Fixtures.join(client, userId: userId, concertId: sold.concertId),
                               try await Fixtures.join(client, userId: userId, concertId: other.concertId)))
            }
            try Fixtures.admit(database, cap: 100)
            var holds: [Int64] = []
            for (index, token) in tokens.enumerated() {
                holds.append(try await PaymentFixtures.hold(client, token: token.pay, concert: sold, seatNo: index + 1))
                try await Fixtures.charge(client, token: token.pay, amount: 100_000)
            }
            let fixedTokens = tokens
            let fixedHolds = holds

            // The users' rows held: every charge and payment waits on its
            // user's balance ("api." names both functions).
            let ids = "{" + userIds.map(String.init).joined(separator: ",") + "}"
            let answers = try await PaymentFixtures.atOnceBehindLock(
                database, lock: "select 1 from app.users where user_id = any($1::bigint[]) for update",
                [ids], function: "api.", 20
            ) { index in
                let user = index / 2
                return index % 2 == 0
                    ? try await PaymentFixtures.pay(client, token: fixedTokens[user].pay, reservationId: fixedHolds[user])
                    : try await PaymentFixtures.charge(client, token: fixedTokens[user].charge, amount: 25_000)
            }

            #expect(PaymentFixtures.tally(answers) == ["201": 10, "200": 10])
            for userId in userIds {
                // 100 000 + 25 000 - 60 000, whichever went first.
                #expect(try PaymentFixtures.balance(database, userId) == 65_000)
                #expect(try database.scalar("""
                    select string_agg(kind, ',' order by kind) || ' ' || sum(amount)
                    from app.ledger where user_id = $1::bigint
                    """, [String(userId)]) == "CHARGE,CHARGE,PAYMENT 65000")
                #expect(try database.scalar(
                    "select balance_after from app.ledger where user_id = $1::bigint order by entry_id desc limit 1",
                    [String(userId)]) == "65000")
            }
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.payments") == 10)
            #expect(try Fixtures.audit(database) == [])
        }
    }

    // MARK: - Refused payments change nothing

    @Test("paying another user's reservation is 403 TOKEN_FORBIDDEN and changes nothing")
    func payingAnotherUsersReservation() async throws {
        try await TestServer.with { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database)
            let owner = try await Fixtures.activeToken(client, database, concertId: concert.concertId)
            let other = try await Fixtures.activeToken(client, database, concertId: concert.concertId)
            let reservationId = try await PaymentFixtures.hold(client, token: owner.token, concert: concert, seatNo: 3)
            try await Fixtures.charge(client, token: other.token, amount: 500_000)
            let before = try PaymentFixtures.state(database)

            let answer = try await PaymentFixtures.pay(client, token: other.token, reservationId: reservationId)

            #expect(answer.status == 403)
            #expect(answer.errorCode == "TOKEN_FORBIDDEN")
            #expect(try PaymentFixtures.state(database) == before)
        }
    }

    @Test("paying an unknown reservation is 404 RESERVATION_NOT_FOUND and changes nothing")
    func payingAnUnknownReservation() async throws {
        try await TestServer.with { server in
            let database = server.database
            let concert = try Fixtures.concert(database)
            let (_, token) = try await Fixtures.activeToken(server.client, database, concertId: concert.concertId)
            try await Fixtures.charge(server.client, token: token, amount: 500_000)
            let before = try PaymentFixtures.state(database)

            let answer = try await PaymentFixtures.pay(server.client, token: token, reservationId: 987_654_321)

            #expect(answer.status == 404)
            #expect(answer.errorCode == "RESERVATION_NOT_FOUND")
            #expect(try PaymentFixtures.state(database) == before)
        }
    }

    @Test("paying a lapsed hold is 410 HOLD_EXPIRED with nothing charged, before and after the expiry sweep",
          arguments: ["unswept", "swept"])
    func payingALapsedHold(sweep: String) async throws {
        try await TestServer.with { server in
            let database = server.database
            let concert = try Fixtures.concert(database, price: 100_000)
            let (userId, token) = try await Fixtures.activeToken(server.client, database, concertId: concert.concertId)
            try await Fixtures.charge(server.client, token: token, amount: 200_000)
            let reservationId = try await PaymentFixtures.hold(server.client, token: token, concert: concert, seatNo: 9)
            // HOLD_SECONDS (300 by default) and one more pass for this hold:
            // the clock moved in the database, not waited for, so the load on
            // the machine cannot decide the outcome. The hold's own time
            // passing for real is SeatHTTPTests.holdSecondsPolicy.
            try PaymentFixtures.ageHold(database, reservationId: reservationId, seconds: 301)
            if sweep == "swept" {
                #expect(try database.scalar("select api.holds_expire()") == "1")
                #expect(try database.scalar("select status from app.reservations where reservation_id = $1::bigint", [String(reservationId)]) == "EXPIRED")
            } else {
                // Nothing has marked it: the rule alone (expires_at <= now) must refuse it.
                #expect(try database.scalar("select status from app.reservations where reservation_id = $1::bigint", [String(reservationId)]) == "HELD")
            }
            let before = try PaymentFixtures.state(database)

            let answer = try await PaymentFixtures.pay(server.client, token: token, reservationId: reservationId)

            #expect(answer.status == 410)
            #expect(answer.errorCode == "HOLD_EXPIRED")
            #expect(try PaymentFixtures.state(database) == before)
            #expect(try PaymentFixtures.balance(database, userId) == 200_000)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.payments") == 0)
            // The token was not used up: the user may hold another seat.
            #expect(try database.scalar("select status from app.queue_tickets where token = $1::uuid", [token]) == "ACTIVE")
            #expect(try Fixtures.audit(database) == [])
        }
    }

    @Test("paying a paid reservation again is 409 RESERVATION_NOT_PAYABLE with a fresh token, 410 TOKEN_EXPIRED with the used one")
    func payingAPaidReservationAgain() async throws {
        try await TestServer.with { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database, price: 100_000)
            let (userId, token) = try await Fixtures.activeToken(client, database, concertId: concert.concertId)
            try await Fixtures.charge(client, token: token, amount: 500_000)
            let reservationId = try await PaymentFixtures.hold(client, token: token, concert: concert, seatNo: 5)
            let paid = try await PaymentFixtures.pay(client, token: token, reservationId: reservationId)
            #expect(paid.status == 201)
            let before = try PaymentFixtures.state(database)

            let withUsedToken = try await PaymentFixtures.pay(client, token: token, reservationId: reservationId)
            #expect(withUsedToken.status == 410)
            #expect(withUsedToken.errorCode == "TOKEN_EXPIRED")
            #expect(try PaymentFixtures.state(database) == before)

            let fresh = try await Fixtures.join(client, userId: userId, concertId: concert.concertId)
            #expect(fresh != token)
            try Fixtures.admit(database)
            let beforeAgain = try PaymentFixtures.state(database)
            let again = try await PaymentFixtures.pay(client, token: fresh, reservationId: reservationId)
            #expect(again.status == 409)
            #expect(again.errorCode == "RESERVATION_NOT_PAYABLE")
            #expect(try PaymentFixtures.state(database) == beforeAgain)
            #expect(try PaymentFixtures.balance(database, userId) == 400_000)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.payments") == 1)
            #expect(try database.scalar("select status from app.queue_tickets where token = $1::uuid", [fresh]) == "ACTIVE")
        }
    }

    @Test("a balance below the price is 402 INSUFFICIENT_BALANCE and changes nothing; one won more pays")
    func insufficientBalance() async throws {
        try await TestServer.with { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database, price: 100_000)
            let (userId, token) = try await Fixtures.activeToken(client, database, concertId: concert.concertId)
            try await Fixtures.charge(client, token: token, amount: 99_999)
            let reservationId = try await PaymentFixtures.hold(client, token: token, concert: concert, seatNo: 11)
            let before = try PaymentFixtures.state(database)

            let answer = try await PaymentFixtures.pay(client, token: token, reservationId: reservationId)

            #expect(answer.status == 402)
            #expect(answer.errorCode == "INSUFFICIENT_BALANCE")
            #expect(try PaymentFixtures.state(database) == before)

            // The same token and hold still work: a balance equal to the price pays.
            try await Fixtures.charge(client, token: token, amount: 1)
            let paid = try await PaymentFixtures.pay(client, token: token, reservationId: reservationId)
            #expect(paid.status == 201)
            #expect(try PaymentFixtures.balance(database, userId) == 0)
            #expect(try Fixtures.audit(database) == [])
        }
    }

    @Test("10 payments that each meet a serialization failure are retried: 10 answers 201, none 503")
    func serializationFailuresRetried() async throws {
        try await TestServer.with(poolSize: 10, timeouts: PaymentFixtures.patient) { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database, price: 1_000)
            let buyers = try await Fixtures.activeTokens(client, database, concertId: concert.concertId, count: 10)
            var seatHolds: [Int64] = []
            for (index, buyer) in buyers.enumerated() {
                try await Fixtures.charge(client, token: buyer.token, amount: 5_000)
                seatHolds.append(try await PaymentFixtures.hold(client, token: buyer.token, concert: concert, seatNo: index + 1))
            }
            let holds = seatHolds
            let retriedBefore = try await OnsaleDashboardTests.scrape(client)["boxoffice_payment_retries_total"] ?? 0

            // Another transaction updates the 10 buyers' rows and commits while
            // every payment waits on its buyer's row with its snapshot taken:
            // each payment's own update of that row then fails with 40001 and
            // the server tries it again.
            let ids = "{" + buyers.map { String($0.userId) }.joined(separator: ",") + "}"
            let answers = try await PaymentFixtures.atOnceBehindLock(
                database, lock: "update app.users set balance = balance where user_id = any($1::bigint[]) returning 1",
                [ids], function: "payment_create", atLeast: 10, release: "commit", 10
            ) { index in
                try await PaymentFixtures.pay(client, token: buyers[index].token, reservationId: holds[index])
            }

            #expect(PaymentFixtures.tally(answers) == ["201": 10])
            let retriedAfter = try await OnsaleDashboardTests.scrape(client)["boxoffice_payment_retries_total"] ?? 0
            #expect(retriedAfter - retriedBefore >= 10, "retries counted: \(retriedAfter - retriedBefore)")
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.payments") == 10)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.users where balance = 4000") == 10)
            #expect(try Fixtures.audit(database) == [])
        }
    }

    // MARK: - Idempotency

    @Test("one Idempotency-Key sent 20 times at once charges once and gets 20 identical answers")
    func idempotentChargeAtOnce() async throws {
        try await TestServer.with(timeouts: PaymentFixtures.patient) { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database)
            let (userId, token) = try await Fixtures.activeToken(client, database, concertId: concert.concertId)

            // The user's row held: the first charge claims the key and waits
            // on the row, the others wait on the key's index entry behind it.
            let answers = try await PaymentFixtures.atOnceBehindLock(
                database, lock: "select 1 from app.users where user_id = $1::bigint for update",
                [String(userId)], function: "balance_charge", 20
            ) { _ in
                try await PaymentFixtures.charge(client, token: token, amount: 1_000, key: "charge-once-1")
            }

            #expect(PaymentFixtures.tally(answers) == ["200": 20])
            #expect(Set(answers.map(\.body)).count == 1, "\(Set(answers.map { String(decoding: $0.body, as: UTF8.self) }))")
            #expect(answers[0].int("balance") == 1_000)
            #expect(try PaymentFixtures.balance(database, userId) == 1_000)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.ledger") == 1)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.idempotency_keys") == 1)
            #expect(try Fixtures.audit(database) == [])

            // Later, after other money moved, the same request still gets the first answer.
            try await Fixtures.charge(client, token: token, amount: 500)
            let replay = try await PaymentFixtures.charge(client, token: token, amount: 1_000, key: "charge-once-1")
            #expect(replay.status == 200)
            #expect(replay.body == answers[0].body)
            #expect(try PaymentFixtures.balance(database, userId) == 1_500)
        }
    }

    @Test("the same Idempotency-Key with another body is 409 IDEMPOTENCY_KEY_REUSED and changes nothing")
    func idempotencyKeyReused() async throws {
        try await TestServer.with { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database, price: 10_000)
            let (_, token) = try await Fixtures.activeToken(client, database, concertId: concert.concertId)
            let first = try await PaymentFixtures.charge(client, token: token, amount: 50_000, key: "key-A")
            #expect(first.status == 200)
            let before = try PaymentFixtures.state(database)

            let reused = try await PaymentFixtures.charge(client, token: token, amount: 2_000, key: "key-A")
            #expect(reused.status == 409)
            #expect(reused.errorCode == "IDEMPOTENCY_KEY_REUSED")
            #expect(try PaymentFixtures.state(database) == before)

            // A charge's key sent on a payment is another request too.
            let reservationId = try await PaymentFixtures.hold(client, token: token, concert: concert, seatNo: 1)
            let beforePayment = try PaymentFixtures.state(database)
            let crossed = try await PaymentFixtures.pay(client, token: token, reservationId: reservationId, key: "key-A")
            #expect(crossed.status == 409)
            #expect(crossed.errorCode == "IDEMPOTENCY_KEY_REUSED")
            #expect(try PaymentFixtures.state(database) == beforePayment)
        }
    }

    @Test("a payment retried with its key after it used up the token still gets its 201 with the same body")
    func paymentReplayAfterTokenUsedUp() async throws {
        try await TestServer.with { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database, price: 100_000)
            let (userId, token) = try await Fixtures.activeToken(client, database, concertId: concert.concertId)
            try await Fixtures.charge(client, token: token, amount: 300_000)
            let reservationId = try await PaymentFixtures.hold(client, token: token, concert: concert, seatNo: 2)
            let otherHold = try await PaymentFixtures.hold(client, token: token, concert: concert, seatNo: 3)

            let first = try await PaymentFixtures.pay(client, token: token, reservationId: reservationId, key: "pay-1")
            #expect(first.status == 201)
            let before = try PaymentFixtures.state(database)

            let replay = try await PaymentFixtures.pay(client, token: token, reservationId: reservationId, key: "pay-1")
            #expect(replay.status == 201)
            #expect(replay.body == first.body)
            #expect(try PaymentFixtures.state(database) == before)
            #expect(try PaymentFixtures.balance(database, userId) == 200_000)

            // Without the key, or with it for another reservation (no replay,
            // so the API's order: the token's 410 before the key's 409), the
            // used-up token is refused.
            let noKey = try await PaymentFixtures.pay(client, token: token, reservationId: reservationId)
            #expect(noKey.status == 410)
            #expect(noKey.errorCode == "TOKEN_EXPIRED")
            let otherBody = try await PaymentFixtures.pay(client, token: token, reservationId: otherHold, key: "pay-1")
            #expect(otherBody.status == 410)
            #expect(otherBody.errorCode == "TOKEN_EXPIRED")
            #expect(try PaymentFixtures.state(database) == before)
        }
    }

    @Test("10 concurrent payments with one Idempotency-Key: one payment, 10 identical 201s")
    func idempotentPaymentAtOnce() async throws {
        try await TestServer.with(timeouts: PaymentFixtures.patient) { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database, price: 100_000)
            let (userId, token) = try await Fixtures.activeToken(client, database, concertId: concert.concertId)
            try await Fixtures.charge(client, token: token, amount: 300_000)
            let reservationId = try await PaymentFixtures.hold(client, token: token, concert: concert, seatNo: 4)

            // The seat's row held: the first payment claims the key and waits
            // on the seat, the others wait on the key's index entry behind it.
            let answers = try await PaymentFixtures.atOnceBehindLock(
                database, lock: "select 1 from app.seats s join app.reservations r using (date_id, seat_no) where r.reservation_id = $1::bigint for update of s",
                [String(reservationId)], function: "payment_create", 10
            ) { _ in
                try await PaymentFixtures.pay(client, token: token, reservationId: reservationId, key: "pay-at-once")
            }

            #expect(PaymentFixtures.tally(answers) == ["201": 10])
            #expect(Set(answers.map(\.body)).count == 1)
            #expect(try PaymentFixtures.balance(database, userId) == 200_000)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.payments") == 1)
            #expect(try PaymentFixtures.integer(database, "select count(*) from app.ledger where kind = 'PAYMENT'") == 1)
            #expect(try Fixtures.audit(database) == [])
        }
    }

    // MARK: - Reading the balance and the payments

    @Test("GET /api/balance and /api/balance/history: any live token, newest first, signed amounts")
    func balanceAndHistory() async throws {
        try await TestServer.with { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database, price: 5_000)
            let (userId, token) = try await Fixtures.activeToken(client, database, concertId: concert.concertId)

            let empty = try await client.get("/api/balance", token: token)
            #expect(empty.status == 200)
            #expect(empty.int("userId") == userId)
            #expect(empty.int("balance") == 0)
            let noEntries = try await client.get("/api/balance/history", token: token)
            #expect(noEntries.status == 200)
            #expect((noEntries.json["entries"] as? [Any])?.isEmpty == true)

            try await Fixtures.charge(client, token: token, amount: 3_000)
            try await Fixtures.charge(client, token: token, amount: 4_000)
            let reservationId = try await PaymentFixtures.hold(client, token: token, concert: concert, seatNo: 1)
            #expect(try await PaymentFixtures.pay(client, token: token, reservationId: reservationId).status == 201)

            // The used-up token reads nothing; a new WAITING ticket is live again.
            let used = try await client.get("/api/balance", token: token)
            #expect(used.status == 410)
            #expect(used.errorCode == "TOKEN_EXPIRED")
            let waiting = try await Fixtures.join(client, userId: userId, concertId: concert.concertId)
            #expect(try database.scalar("select status from app.queue_tickets where token = $1::uuid", [waiting]) == "WAITING")

            let balance = try await client.get("/api/balance", token: waiting)
            #expect(balance.status == 200)
            #expect(balance.int("balance") == 2_000)

            let history = try await client.get("/api/balance/history", token: waiting)
            #expect(history.status == 200)
            let entries = try #require(history.json["entries"] as? [[String: Any]])
            #expect(entries.map { $0["kind"] as? String } == ["PAYMENT", "CHARGE", "CHARGE"])
            #expect(entries.map { ($0["amount"] as? NSNumber)?.int64Value } == [-5_000, 4_000, 3_000])
            #expect(entries.map { ($0["balanceAfter"] as? NSNumber)?.int64Value } == [2_000, 7_000, 3_000])
            let ids = entries.compactMap { ($0["entryId"] as? NSNumber)?.int64Value }
            #expect(ids.count == 3 && ids == ids.sorted(by: >))
            #expect(entries.allSatisfy { ($0["at"] as? String)?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil })

            let two = try await client.get("/api/balance/history?limit=2", token: waiting)
            #expect(two.status == 200)
            #expect((two.json["entries"] as? [[String: Any]])?.compactMap { ($0["entryId"] as? NSNumber)?.int64Value } == Array(ids.prefix(2)))
            for limit in ["1", "100"] {
                let answer = try await client.get("/api/balance/history?limit=\(limit)", token: waiting)
                #expect(answer.status == 200, "limit=\(limit)")
                #expect((answer.json["entries"] as? [Any])?.count == min(Int(limit)!, 3))
            }
            for limit in ["0", "101", "abc", "-1", "1.5", ""] {
                let answer = try await client.get("/api/balance/history?limit=\(limit)", token: waiting)
                #expect(answer.status == 400, "limit=\(limit)")
                #expect(answer.errorCode == "BAD_REQUEST", "limit=\(limit)")
            }

            let missing = try await client.get("/api/balance")
            #expect(missing.status == 401)
            #expect(missing.errorCode == "TOKEN_MISSING")
            let unknown = try await client.get("/api/balance", token: UUID().uuidString)
            #expect(unknown.status == 401)
            #expect(unknown.errorCode == "TOKEN_INVALID")
        }
    }

    @Test("GET /api/payments lists the user's own payments, newest first, as Payment objects")
    func paymentList() async throws {
        try await TestServer.with { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database, price: 20_000)
            let (userId, token) = try await Fixtures.activeToken(client, database, concertId: concert.concertId)
            let stranger = try await Fixtures.activeToken(client, database, concertId: concert.concertId)
            try await Fixtures.charge(client, token: token, amount: 100_000)

            let firstHold = try await PaymentFixtures.hold(client, token: token, concert: concert, date: 0, seatNo: 8)
            let firstPaid = try await PaymentFixtures.pay(client, token: token, reservationId: firstHold)
            #expect(firstPaid.status == 201)
            let second = try await Fixtures.join(client, userId: userId, concertId: concert.concertId)
            try Fixtures.admit(database)
            let secondHold = try await PaymentFixtures.hold(client, token: second, concert: concert, date: 1, seatNo: 9)
            let secondPaid = try await PaymentFixtures.pay(client, token: second, reservationId: secondHold)
            #expect(secondPaid.status == 201)
            let third = try await Fixtures.join(client, userId: userId, concertId: concert.concertId)

            let list = try await client.get("/api/payments", token: third)
            #expect(list.status == 200)
            let payments = try #require(list.json["payments"] as? [[String: Any]])
            #expect(payments.map { ($0["reservationId"] as? NSNumber)?.int64Value } == [secondHold, firstHold])
            let newest = try #require(payments.first)
            #expect(Set(newest.keys) == ["paymentId", "reservationId", "userId", "concertId", "dateId", "seatNo", "amount", "status", "paidAt"])
            #expect((newest["paymentId"] as? NSNumber)?.int64Value == secondPaid.int("paymentId"))
            #expect((newest["userId"] as? NSNumber)?.int64Value == userId)
            #expect((newest["concertId"] as? NSNumber)?.int64Value == concert.concertId)
            #expect((newest["dateId"] as? NSNumber)?.int64Value == concert.dateIds[1])
            #expect((newest["seatNo"] as? NSNumber)?.intValue == 9)
            #expect((newest["amount"] as? NSNumber)?.int64Value == 20_000)
            #expect(newest["status"] as? String == "COMPLETED")
            #expect((newest["paidAt"] as? String)?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil)
            // Each payment in the list is the body its POST answered.
            #expect(NSDictionary(dictionary: newest) == NSDictionary(dictionary: secondPaid.json))
            #expect(NSDictionary(dictionary: payments[1]) == NSDictionary(dictionary: firstPaid.json))

            let strangers = try await client.get("/api/payments", token: stranger.token)
            #expect(strangers.status == 200)
            #expect((strangers.json["payments"] as? [Any])?.isEmpty == true)
            #expect(try Fixtures.audit(database) == [])
        }
    }

    // MARK: - Charges refused

    @Test("a charge with a bad amount is 400 BAD_REQUEST and changes nothing", arguments: [
        #"{"amount": 0}"#, #"{"amount": -5}"#, #"{"amount": 1.5}"#, #"{"amount": "100"}"#,
        #"{"amount": 1000001}"#, #"{}"#, #"{"amount": null}"#, #"not json"#,
    ])
    func badCharges(body: String) async throws {
        try await TestServer.with { server in
            let database = server.database
            let concert = try Fixtures.concert(database)
            let (_, token) = try await Fixtures.activeToken(server.client, database, concertId: concert.concertId)
            try await Fixtures.charge(server.client, token: token, amount: 700)
            let before = try PaymentFixtures.state(database)

            let answer = try await server.client.send("POST", "/api/balance/charge", raw: Data(body.utf8), token: token)

            #expect(answer.status == 400)
            #expect(answer.errorCode == "BAD_REQUEST")
            #expect(try PaymentFixtures.state(database) == before)
        }
    }

    @Test("a charge of exactly CHARGE_MAX (1 000 000) is accepted")
    func chargeMaxItself() async throws {
        try await TestServer.with { server in
            let concert = try Fixtures.concert(server.database)
            let (userId, token) = try await Fixtures.activeToken(server.client, server.database, concertId: concert.concertId)
            let answer = try await PaymentFixtures.charge(server.client, token: token, amount: 1_000_000)
            #expect(answer.status == 200)
            #expect(answer.int("balance") == 1_000_000)
            #expect(try PaymentFixtures.balance(server.database, userId) == 1_000_000)
        }
    }

    @Test("a charge past BALANCE_MAX is 409 BALANCE_LIMIT and changes nothing; up to it is fine")
    func balanceLimit() async throws {
        try await TestServer.with(settings: ["balance_max": "5000"]) { server in
            let database = server.database
            let client = server.client
            let concert = try Fixtures.concert(database)
            let (userId, token) = try await Fixtures.activeToken(client, database, concertId: concert.concertId)
            try await Fixtures.charge(client, token: token, amount: 3_000)
            let before = try PaymentFixtures.state(database)

            let over = try await PaymentFixtures.charge(client, token: token, amount: 2_001)
            #expect(over.status == 409)
            #expect(over.errorCode == "BALANCE_LIMIT")
            #expect(try PaymentFixtures.state(database) == before)

            let upTo = try await PaymentFixtures.charge(client, token: token, amount: 2_000)
            #expect(upTo.status == 200)
            #expect(upTo.int("balance") == 5_000)
            let beforeOne = try PaymentFixtures.state(database)
            let one = try await PaymentFixtures.charge(client, token: token, amount: 1, key: "one-more")
            #expect(one.status == 409)
            #expect(one.errorCode == "BALANCE_LIMIT")
            #expect(try PaymentFixtures.state(database) == beforeOne)
            #expect(try PaymentFixtures.balance(database, userId) == 5_000)
            #expect(try Fixtures.audit(database) == [])
        }
    }
}
