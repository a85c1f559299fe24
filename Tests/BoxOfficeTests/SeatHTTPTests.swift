import Foundation
import Testing

@testable import BoxOffice

/// Concerts, dates, seats and holds end to end (`GET /api/concerts` to
/// `DELETE /api/reservations/{id}`) over real HTTP against a real database.
@Suite("Seats and holds over HTTP")
struct SeatHTTPTests {
    static func hold(
        _ client: HTTPTestClient, token: String?, concertId: Int64, dateId: Int64, seatNo: Int, key: String? = nil
    ) async throws -> HTTPTestClient.Answer {
        try await client.post(
            "/api/reservations", ["concertId": concertId, "dateId": dateId, "seatNo": seatNo], token: token,
            headers: key.map { ["Idempotency-Key": $0] } ?? [:])
    }

    static func freeSeats(_ client: HTTPTestClient, token: String, concertId: Int64, dateId: Int64) async throws -> [Int64] {
        let answer = try await client.get("/api/concerts/\(concertId)/dates/\(dateId)/seats", token: token)
        #expect(answer.status == 200, "seat list: \(answer.status) \(answer.json)")
        return (answer.json["seats"] as? [[String: Any]] ?? []).compactMap { ($0["seatNo"] as? NSNumber)?.int64Value }
    }

    /// dateId: availableSeats, from GET /api/concerts/{id}/dates.
    static func dates(_ client: HTTPTestClient, token: String, concertId: Int64) async throws -> [Int64: Int64] {
        let answer = try await client.get("/api/concerts/\(concertId)/dates", token: token)
        #expect(answer.status == 200, "date list: \(answer.status) \(answer.json)")
        var result: [Int64: Int64] = [:]
        for date in answer.json["dates"] as? [[String: Any]] ?? [] {
            if let id = (date["dateId"] as? NSNumber)?.int64Value {
                result[id] = (date["availableSeats"] as? NSNumber)?.int64Value
            }
        }
        return result
    }

    static let reservationKeys: Set<String> = ["reservationId", "userId", "concertId", "dateId", "date", "seatNo", "price", "status", "expiresAt"]

    // MARK: storms

    @Test("same-seat storm: 100 ACTIVE users reserve one seat at once, exactly one wins")
    func sameSeatStorm() async throws {
        try await TestServer.with(timeouts: PaymentFixtures.patient) { server in
            let concert = try Fixtures.concert(server.database, dates: 1)
            let dateId = concert.dateIds[0]
            let users = try await Fixtures.activeTokens(server.client, server.database, concertId: concert.concertId, count: 100)
            #expect(users.count == 100)
            // The seat's row held: every hold waits on it in its conditional update.
            let answers = try await PaymentFixtures.atOnceBehindLock(
                server.database, lock: "select 1 from app.seats where date_id = $1::bigint and seat_no = 7 for update",
                [String(dateId)], function: "seat_hold", 100
            ) { index in
                (users[index].userId,
                 try await Self.hold(server.client, token: users[index].token, concertId: concert.concertId, dateId: dateId, seatNo: 7))
            }
            let winners = answers.filter { $0.1.status == 201 }
            let losers = answers.filter { $0.1.status == 409 }
            #expect(winners.count == 1, "statuses: \(Dictionary(grouping: answers, by: \.1.status).mapValues(\.count))")
            #expect(losers.count == 99)
            #expect(losers.allSatisfy { $0.1.errorCode == "SEAT_TAKEN" })
            let winner = try #require(winners.first)
            #expect(winner.1.int("userId") == winner.0)
            #expect(winner.1.string("status") == "HELD")

            let admin = try server.database.admin()
            defer { admin.close() }
            let rows = try admin.execute("select user_id::text, status, reservation_id::text from app.reservations").rows
            #expect(rows.count == 1)
            #expect(rows.first?[0] == String(winner.0))
            #expect(rows.first?[1] == "HELD")
            #expect(rows.first?[2] == winner.1.int("reservationId").map(String.init))
            #expect(try server.database.scalar(
                "select status || ':' || user_id from app.seats where date_id = $1 and seat_no = 7", [String(dateId)])
                == "HELD:\(winner.0)")
            #expect(try Fixtures.audit(server.database).isEmpty)
        }
    }

    @Test("50 users reserve seats 1 to 50 of one date at once: all succeed, and the date is sold out")
    func fiftySeatsAtOnce() async throws {
        try await TestServer.with(timeouts: PaymentFixtures.patient) { server in
            let concert = try Fixtures.concert(server.database, dates: 2)
            let dateId = concert.dateIds[0]
            let users = try await Fixtures.activeTokens(server.client, server.database, concertId: concert.concertId, count: 50)
            // The date's 50 seat rows held: every hold waits on its own seat.
            let answers = try await PaymentFixtures.atOnceBehindLock(
                server.database, lock: "select 1 from app.seats where date_id = $1::bigint for update",
                [String(dateId)], function: "seat_hold", 50
            ) { index in
                (index + 1,
                 try await Self.hold(server.client, token: users[index].token, concertId: concert.concertId, dateId: dateId, seatNo: index + 1))
            }
            #expect(answers.allSatisfy { $0.1.status == 201 }, "statuses: \(Dictionary(grouping: answers, by: \.1.status).mapValues(\.count))")
            #expect(answers.allSatisfy { $0.1.int("seatNo") == Int64($0.0) && $0.1.string("status") == "HELD" })
            #expect(Set(answers.compactMap { $0.1.int("reservationId") }).count == 50)

            let viewer = users[0].token
            #expect(try await Self.freeSeats(server.client, token: viewer, concertId: concert.concertId, dateId: dateId).isEmpty)
            let dates = try await Self.dates(server.client, token: viewer, concertId: concert.concertId)
            #expect(dates[dateId] == nil, "a sold-out date leaves the list: \(dates)")
            #expect(dates[concert.dateIds[1]] == 50)
            #expect(try QueueFixtures.count(server.database, "select count(distinct seat_no) from app.reservations where status = 'HELD' and date_id = $1", [String(dateId)]) == 50)
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.reservations") == 50)
            #expect(try Fixtures.audit(server.database).isEmpty)
        }
    }

    // MARK: holds

    @Test("a lapsed hold frees the seat: listed again, another user holds it, the first reservation reads EXPIRED")
    func holdLapses() async throws {
        try await TestServer.with { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let dateId = concert.dateIds[0]
            let first = try await Fixtures.activeToken(client, server.database, concertId: concert.concertId)
            let second = try await Fixtures.activeToken(client, server.database, concertId: concert.concertId)

            let held = try await Self.hold(client, token: first.token, concertId: concert.concertId, dateId: dateId, seatNo: 3)
            #expect(held.status == 201)
            #expect(held.string("status") == "HELD")
            #expect(Set(held.json.keys) == Self.reservationKeys)
            let reservationId = try #require(held.int("reservationId"))
            // HOLD_SECONDS is 300 by default: these checks run well inside it.
            #expect(try server.database.scalar(
                "select expires_at - created_at = interval '300 seconds' from app.reservations where reservation_id = $1::bigint",
                [String(reservationId)]) == "t")
            #expect(try await !Self.freeSeats(client, token: second.token, concertId: concert.concertId, dateId: dateId).contains(3))
            #expect(try await Self.dates(client, token: second.token, concertId: concert.concertId)[dateId] == 49)
            let taken = try await Self.hold(client, token: second.token, concertId: concert.concertId, dateId: dateId, seatNo: 3)
            #expect(taken.status == 409)
            #expect(taken.errorCode == "SEAT_TAKEN")
            let live = try await client.get("/api/reservations/\(reservationId)", token: first.token)
            #expect(live.string("status") == "HELD")

            // 301 seconds pass for the hold (moved in the database clock, not
            // waited for). No sweep runs here: the seat row still says HELD,
            // and the lapsed hold must count as free all the same.
            try PaymentFixtures.ageHold(server.database, reservationId: reservationId, seconds: 301)
            #expect(try server.database.scalar("select status from app.seats where date_id = $1::bigint and seat_no = 3", [String(dateId)]) == "HELD")
            #expect(try await Self.freeSeats(client, token: second.token, concertId: concert.concertId, dateId: dateId).contains(3))
            #expect(try await Self.dates(client, token: second.token, concertId: concert.concertId)[dateId] == 50)
            let lapsed = try await client.get("/api/reservations/\(reservationId)", token: first.token)
            #expect(lapsed.status == 200)
            #expect(lapsed.string("status") == "EXPIRED")

            let takeover = try await Self.hold(client, token: second.token, concertId: concert.concertId, dateId: dateId, seatNo: 3)
            #expect(takeover.status == 201)
            #expect(takeover.int("userId") == second.userId)
            #expect(takeover.int("reservationId") != reservationId)
            let after = try await client.get("/api/reservations/\(reservationId)", token: first.token)
            #expect(after.status == 200)
            #expect(after.string("status") == "EXPIRED")
            #expect(try server.database.scalar("select status from app.reservations where reservation_id = $1", [String(reservationId)]) == "EXPIRED")
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.reservations where status = 'HELD'") == 1)
            #expect(try Fixtures.audit(server.database).isEmpty)
        }
    }

    @Test("HOLD_SECONDS really sets the hold: expiresAt is the hold time plus HOLD_SECONDS, and the seat comes free on its own")
    func holdSecondsPolicy() async throws {
        try await TestServer.with(settings: ["hold_seconds": "3"]) { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let dateId = concert.dateIds[0]
            let first = try await Fixtures.activeToken(client, server.database, concertId: concert.concertId)
            let second = try await Fixtures.activeToken(client, server.database, concertId: concert.concertId)

            let held = try await Self.hold(client, token: first.token, concertId: concert.concertId, dateId: dateId, seatNo: 3)
            #expect(held.status == 201)
            let reservationId = try #require(held.int("reservationId"))
            // The policy, read in the database rather than raced against the
            // clock: the hold lasts exactly HOLD_SECONDS from its creation, on
            // the reservation and on the seat, and the answer says when.
            let stored = try server.database.scalar("""
                select (r.expires_at - r.created_at = interval '3 seconds')::text || ' '
                       || (s.status = 'HELD' and s.hold_expires_at = r.expires_at)::text || ' ' || app.iso(r.expires_at)
                from app.reservations r join app.seats s on s.date_id = r.date_id and s.seat_no = r.seat_no
                where r.reservation_id = $1::bigint
                """, [String(reservationId)])
            let expiresAt = try #require(held.string("expiresAt"))
            #expect(stored == "true true \(expiresAt)")

            // The time passes for real: the seat shows up free again, with no
            // sweep and no clock moved, within the deadline (300 s by default).
            let end = ContinuousClock.now + .seconds(30)
            var free = false
            while !free && ContinuousClock.now < end {
                free = try await Self.freeSeats(client, token: second.token, concertId: concert.concertId, dateId: dateId).contains(3)
                if !free { try await Task.sleep(for: .milliseconds(300)) }
            }
            #expect(free, "seat 3 was not free 30 s after a hold of HOLD_SECONDS=3")
            let lapsed = try await client.get("/api/reservations/\(reservationId)", token: first.token)
            #expect(lapsed.string("status") == "EXPIRED")
            let takeover = try await Self.hold(client, token: second.token, concertId: concert.concertId, dateId: dateId, seatNo: 3)
            #expect(takeover.status == 201)
            #expect(takeover.int("userId") == second.userId)
            #expect(try server.database.scalar("select status from app.reservations where reservation_id = $1::bigint", [String(reservationId)]) == "EXPIRED")
            #expect(try Fixtures.audit(server.database).isEmpty)
        }
    }

    @Test("a seat held by one user is 409 SEAT_TAKEN for the next, and the holder asking again gets the same reservation")
    func noDoubleBooking() async throws {
        try await TestServer.with { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let dateId = concert.dateIds[0]
            let first = try await Fixtures.activeToken(client, server.database, concertId: concert.concertId)
            let second = try await Fixtures.activeToken(client, server.database, concertId: concert.concertId)

            let held = try await Self.hold(client, token: first.token, concertId: concert.concertId, dateId: dateId, seatNo: 5)
            #expect(held.status == 201)
            let taken = try await Self.hold(client, token: second.token, concertId: concert.concertId, dateId: dateId, seatNo: 5)
            #expect(taken.status == 409)
            #expect(taken.errorCode == "SEAT_TAKEN")

            let again = try await Self.hold(client, token: first.token, concertId: concert.concertId, dateId: dateId, seatNo: 5)
            #expect(again.status == 200)
            #expect(again.int("reservationId") == held.int("reservationId"))
            #expect(again.string("status") == "HELD")
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.reservations") == 1)

            // A user may hold several seats.
            let another = try await Self.hold(client, token: first.token, concertId: concert.concertId, dateId: dateId, seatNo: 6)
            #expect(another.status == 201)
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.reservations where user_id = $1", [String(first.userId)]) == 2)
            #expect(try Fixtures.audit(server.database).isEmpty)
        }
    }

    @Test("MAX_HOLDS_PER_TOKEN: the hold past it is 409 HOLD_LIMIT and takes no seat; the holder's own seat still answers 200, and a cancel makes room")
    func holdLimit() async throws {
        try await TestServer.with(settings: ["max_holds_per_token": "2"]) { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let dateId = concert.dateIds[0]
            let fan = try await Fixtures.activeToken(client, server.database, concertId: concert.concertId)
            func hold(_ seatNo: Int) async throws -> HTTPTestClient.Answer {
                try await Self.hold(client, token: fan.token, concertId: concert.concertId, dateId: dateId, seatNo: seatNo)
            }

            let first = try await hold(1)
            let second = try await hold(2)
            #expect(first.status == 201 && second.status == 201)
            let refused = try await hold(3)
            #expect(refused.status == 409 && refused.errorCode == "HOLD_LIMIT", "\(refused.status) \(refused.json)")
            #expect(try server.database.scalar("select status from app.seats where date_id = $1::bigint and seat_no = 3", [String(dateId)]) == "FREE")
            let again = try await hold(1)
            #expect(again.status == 200, "a seat already held is answered, limit or not")

            let reservationId = try #require(first.int("reservationId"))
            let cancelled = try await client.send("DELETE", "/api/reservations/\(reservationId)", token: fan.token)
            #expect(cancelled.status == 200)
            let roomMade = try await hold(3)
            #expect(roomMade.status == 201, "the cancel made room")
            #expect(try Fixtures.audit(server.database).isEmpty)
        }
    }

    @Test("cancelling frees the seat at once and the reservation reads CANCELLED")
    func cancelFreesSeat() async throws {
        try await TestServer.with { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let dateId = concert.dateIds[0]
            let first = try await Fixtures.activeToken(client, server.database, concertId: concert.concertId)
            let second = try await Fixtures.activeToken(client, server.database, concertId: concert.concertId)

            let held = try await Self.hold(client, token: first.token, concertId: concert.concertId, dateId: dateId, seatNo: 9)
            let reservationId = try #require(held.int("reservationId"))
            #expect(try await !Self.freeSeats(client, token: second.token, concertId: concert.concertId, dateId: dateId).contains(9))

            let notYours = try await client.send("DELETE", "/api/reservations/\(reservationId)", token: second.token)
            #expect(notYours.status == 403)
            #expect(notYours.errorCode == "TOKEN_FORBIDDEN")

            let cancelled = try await client.send("DELETE", "/api/reservations/\(reservationId)", token: first.token)
            #expect(cancelled.status == 200)
            #expect(cancelled.string("status") == "CANCELLED")
            #expect(cancelled.int("reservationId") == reservationId)
            #expect(try await Self.freeSeats(client, token: second.token, concertId: concert.concertId, dateId: dateId).contains(9))
            let taken = try await Self.hold(client, token: second.token, concertId: concert.concertId, dateId: dateId, seatNo: 9)
            #expect(taken.status == 201)

            let lookup = try await client.get("/api/reservations/\(reservationId)", token: first.token)
            #expect(lookup.status == 200)
            #expect(lookup.string("status") == "CANCELLED")
            #expect(try server.database.scalar("select status from app.reservations where reservation_id = $1", [String(reservationId)]) == "CANCELLED")
            #expect(try Fixtures.audit(server.database).isEmpty)
        }
    }

    @Test("a reservation is shown to its owner only: 403 for another user, 404 for an unknown id, 400 for a non-numeric id")
    func reservationLookup() async throws {
        try await TestServer.with { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let owner = try await Fixtures.activeToken(client, server.database, concertId: concert.concertId)
            let stranger = try await Fixtures.activeToken(client, server.database, concertId: concert.concertId)
            let held = try await Self.hold(client, token: owner.token, concertId: concert.concertId, dateId: concert.dateIds[0], seatNo: 1)
            let reservationId = try #require(held.int("reservationId"))

            let mine = try await client.get("/api/reservations/\(reservationId)", token: owner.token)
            #expect(mine.status == 200)
            #expect(Set(mine.json.keys) == Self.reservationKeys)
            #expect(mine.int("userId") == owner.userId)
            #expect(mine.int("seatNo") == 1)
            #expect(mine.int("price") == 100_000)
            #expect(mine.string("status") == "HELD")
            #expect((mine.string("date") ?? "").wholeMatch(of: /\d{4}-\d\d-\d\d/) != nil)
            #expect((mine.string("expiresAt") ?? "").wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil)

            let theirs = try await client.get("/api/reservations/\(reservationId)", token: stranger.token)
            #expect(theirs.status == 403)
            #expect(theirs.errorCode == "TOKEN_FORBIDDEN")
            let unknown = try await client.get("/api/reservations/\(reservationId + 1000)", token: owner.token)
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "RESERVATION_NOT_FOUND")
            for path in ["/api/reservations/abc", "/api/reservations/1.5", "/api/reservations/-1"] {
                let bad = try await client.get(path, token: owner.token)
                #expect(bad.status == 400, "\(path)")
                #expect(bad.errorCode == "BAD_REQUEST", "\(path)")
            }
        }
    }

    // MARK: bad input

    enum BadHold: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case seatZero, seatFiftyOne, seatNegative, seatString, seatFraction, seatHuge, seatNull
        case missingSeat, missingDate, missingConcert, malformedJSON, notAnObject, emptyBody
        case unknownDate, otherConcertsDate

        var testDescription: String { rawValue }

        func body(concertId: Int64, dateId: Int64, otherDateId: Int64) -> String {
            let c = String(concertId), d = String(dateId)
            switch self {
            case .seatZero: return #"{"concertId": \#(c), "dateId": \#(d), "seatNo": 0}"#
            case .seatFiftyOne: return #"{"concertId": \#(c), "dateId": \#(d), "seatNo": 51}"#
            case .seatNegative: return #"{"concertId": \#(c), "dateId": \#(d), "seatNo": -1}"#
            case .seatString: return #"{"concertId": \#(c), "dateId": \#(d), "seatNo": "7"}"#
            case .seatFraction: return #"{"concertId": \#(c), "dateId": \#(d), "seatNo": 7.5}"#
            case .seatHuge: return #"{"concertId": \#(c), "dateId": \#(d), "seatNo": 4294967303}"#
            case .seatNull: return #"{"concertId": \#(c), "dateId": \#(d), "seatNo": null}"#
            case .missingSeat: return #"{"concertId": \#(c), "dateId": \#(d)}"#
            case .missingDate: return #"{"concertId": \#(c), "seatNo": 7}"#
            case .missingConcert: return #"{"dateId": \#(d), "seatNo": 7}"#
            case .malformedJSON: return #"{"concertId": \#(c), "dateId": \#(d), "seatNo": 7"#
            case .notAnObject: return "[7]"
            case .emptyBody: return ""
            case .unknownDate: return #"{"concertId": \#(c), "dateId": \#(dateId + 1000), "seatNo": 7}"#
            case .otherConcertsDate: return #"{"concertId": \#(c), "dateId": \#(otherDateId), "seatNo": 7}"#
            }
        }

        var expected: (status: Int, code: String) {
            switch self {
            case .unknownDate, .otherConcertsDate: return (404, "DATE_NOT_FOUND")
            default: return (400, "BAD_REQUEST")
            }
        }
    }

    @Test("a bad reservation request gets its documented code and creates nothing", arguments: BadHold.allCases)
    func badHold(_ bad: BadHold) async throws {
        try await TestServer.with { server in
            let concert = try Fixtures.concert(server.database, dates: 1)
            let other = try Fixtures.concert(server.database, dates: 1)
            let user = try await Fixtures.activeToken(server.client, server.database, concertId: concert.concertId)
            let body = bad.body(concertId: concert.concertId, dateId: concert.dateIds[0], otherDateId: other.dateIds[0])
            let answer = try await server.client.send("POST", "/api/reservations", raw: Data(body.utf8), token: user.token)
            #expect(answer.status == bad.expected.status, "\(body): \(answer.json)")
            #expect(answer.errorCode == bad.expected.code)
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.reservations") == 0)
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.seats where status <> 'FREE'") == 0)
            // The token is untouched and the seat still free.
            let good = try await Self.hold(server.client, token: user.token, concertId: concert.concertId, dateId: concert.dateIds[0], seatNo: 7)
            #expect(good.status == 201)
        }
    }

    @Test("errors come in the documented order: malformed before token, token before not found")
    func errorPrecedence() async throws {
        try await TestServer.with { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let dateId = concert.dateIds[0]
            let waiting = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)

            let outOfRange = try await Self.hold(client, token: nil, concertId: concert.concertId, dateId: dateId, seatNo: 51)
            #expect(outOfRange.status == 400, "seatNo 51 without a token: \(outOfRange.json)")
            #expect(outOfRange.errorCode == "BAD_REQUEST")
            let outOfRangeWaiting = try await Self.hold(client, token: waiting, concertId: concert.concertId, dateId: dateId, seatNo: 0)
            #expect(outOfRangeWaiting.status == 400, "seatNo 0 with a WAITING token: \(outOfRangeWaiting.json)")
            let mistyped = try await client.send("POST", "/api/reservations", raw: Data(#"{"concertId": 1, "dateId": 1, "seatNo": "7"}"#.utf8))
            #expect(mistyped.status == 400, "a mistyped seatNo without a token: \(mistyped.json)")
            let malformed = try await client.send("POST", "/api/reservations", raw: Data("{".utf8), token: "not-a-uuid")
            #expect(malformed.status == 400, "malformed JSON with a malformed token: \(malformed.json)")

            let unknownDateWaiting = try await Self.hold(client, token: waiting, concertId: concert.concertId, dateId: dateId + 1000, seatNo: 7)
            #expect(unknownDateWaiting.status == 403, "an unknown date with a WAITING token: \(unknownDateWaiting.json)")
            #expect(unknownDateWaiting.errorCode == "QUEUE_WAITING")
            let unknownDateNoToken = try await Self.hold(client, token: nil, concertId: concert.concertId, dateId: dateId + 1000, seatNo: 7)
            #expect(unknownDateNoToken.status == 401)
            #expect(unknownDateNoToken.errorCode == "TOKEN_MISSING")
            let unknownDateUnknownToken = try await Self.hold(client, token: UUID().uuidString, concertId: concert.concertId, dateId: dateId + 1000, seatNo: 7)
            #expect(unknownDateUnknownToken.status == 401)
            #expect(unknownDateUnknownToken.errorCode == "TOKEN_INVALID")
            let unknownDateSeats = try await client.get("/api/concerts/\(concert.concertId)/dates/\(dateId + 1000)/seats", token: waiting)
            #expect(unknownDateSeats.status == 403)
            #expect(unknownDateSeats.errorCode == "QUEUE_WAITING")
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.reservations") == 0)
        }
    }

    // MARK: the concert list

    @Test("the concert list needs no token and counts each concert's dates still to come")
    func concertList() async throws {
        try await TestServer.with { server in
            let two = try Fixtures.concert(server.database, dates: 2)
            let three = try Fixtures.concert(server.database, dates: 3)
            try server.database.scalar(
                "insert into app.concert_dates (concert_id, starts_at) values ($1, now() - interval '2 days')", [String(two.concertId)])
            let answer = try await server.client.get("/api/concerts")
            #expect(answer.status == 200)
            let concerts = answer.json["concerts"] as? [[String: Any]] ?? []
            #expect(concerts.count == 2)
            var counts: [Int64: Int64] = [:]
            for concert in concerts {
                #expect(Set(concert.keys) == ["concertId", "title", "venue", "dates", "saleOpensAt"])
                #expect(concert["saleOpensAt"] is NSNull, "no opening scheduled")
                #expect(concert["title"] as? String == "Test Night")
                #expect(concert["venue"] as? String == "Test Hall")
                if let id = (concert["concertId"] as? NSNumber)?.int64Value { counts[id] = (concert["dates"] as? NSNumber)?.int64Value }
            }
            #expect(counts == [two.concertId: 2, three.concertId: 3])
            #expect(answer.headers["cache-control"] == "no-cache")
        }
    }

    @Test("with CONCERT_LIST_CACHE_MS the concert list is one shared answer: a concert added meanwhile waits for it to expire")
    func concertListShared() async throws {
        try await TestServer.with(concertListTTL: .seconds(60)) { server in
            _ = try Fixtures.concert(server.database, dates: 1)
            let first = try await server.client.get("/api/concerts")
            #expect(first.status == 200)
            #expect(first.headers["cache-control"] == "public, max-age=60")
            #expect((first.json["concerts"] as? [Any])?.count == 1)
            _ = try Fixtures.concert(server.database, dates: 1)
            let second = try await server.client.get("/api/concerts")
            #expect(second.status == 200)
            #expect(second.body == first.body)
            let direct = try server.database.scalar("select jsonb_array_length(api.concert_list() -> 'concerts')")
            #expect(direct == "2")
        }
    }

    // MARK: idempotency

    @Test("Idempotency-Key: the same request twice is answered once, another body is 409, and the replay outlives the token")
    func idempotentHold() async throws {
        try await TestServer.with { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let dateId = concert.dateIds[0]
            let user = try await Fixtures.activeToken(client, server.database, concertId: concert.concertId)

            let first = try await Self.hold(client, token: user.token, concertId: concert.concertId, dateId: dateId, seatNo: 4, key: "hold-4")
            #expect(first.status == 201)
            let replay = try await Self.hold(client, token: user.token, concertId: concert.concertId, dateId: dateId, seatNo: 4, key: "hold-4")
            #expect(replay.status == 201, "a replay answers as the first time did")
            #expect(replay.int("reservationId") == first.int("reservationId"))
            #expect(replay.json as NSDictionary == first.json as NSDictionary)
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.reservations") == 1)

            let reused = try await Self.hold(client, token: user.token, concertId: concert.concertId, dateId: dateId, seatNo: 5, key: "hold-4")
            #expect(reused.status == 409)
            #expect(reused.errorCode == "IDEMPOTENCY_KEY_REUSED")
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.reservations") == 1)
            #expect(try server.database.scalar("select status from app.seats where date_id = $1 and seat_no = 5", [String(dateId)]) == "FREE")
            for badKey in [String(repeating: "k", count: 256), "tab\there"] {
                let answer = try await Self.hold(client, token: user.token, concertId: concert.concertId, dateId: dateId, seatNo: 5, key: badKey)
                #expect(answer.status == 400, "Idempotency-Key \(badKey.prefix(12))…: \(answer.json)")
                #expect(answer.errorCode == "BAD_REQUEST")
            }
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.idempotency_keys") == 1)

            // The token used up (as a payment would), the replay still answers.
            try server.database.scalar(
                "update app.queue_tickets set status = 'USED', ended_at = now() where token = $1", [user.token])
            let late = try await Self.hold(client, token: user.token, concertId: concert.concertId, dateId: dateId, seatNo: 4, key: "hold-4")
            #expect(late.status == 201, "\(late.json)")
            #expect(late.json as NSDictionary == first.json as NSDictionary)
            let fresh = try await Self.hold(client, token: user.token, concertId: concert.concertId, dateId: dateId, seatNo: 4)
            #expect(fresh.status == 410)
            #expect(fresh.errorCode == "TOKEN_EXPIRED")
            let newKey = try await Self.hold(client, token: user.token, concertId: concert.concertId, dateId: dateId, seatNo: 6, key: "hold-6")
            #expect(newKey.status == 410)
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.reservations") == 1)
            #expect(try Fixtures.audit(server.database).isEmpty)
        }
    }
}
