import Foundation
import Testing

@testable import BoxOffice

/// Webhooks from real `boxoffice serve` processes to a real receiver
/// (scripts/webhooks/receiver.py, which checks signatures with Python's own
/// hmac): a receiver that is down and comes back, one that hangs, a replay,
/// a key rotation, and a kill -9 of the delivering leader.
@Suite("Webhook delivery: signed, at least once, in order, isolated", .serialized)
struct WebhookProcessTests {
    static func environment(_ receiver: WebhookReceiver, _ extra: [String: String] = [:]) -> [String: String] {
        [
            "WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": WebhookReceiver.secret,
            "WEBHOOK_RETRY_MS": "200", "WEBHOOK_RETRY_MAX_SECONDS": "1", "WEBHOOK_TIMEOUT_MS": "2000",
            // retries every second at most, for 100 attempts: no event gives up while a test keeps a receiver away
            "WEBHOOK_MAX_ATTEMPTS": "100",
        ].merging(extra) { $1 }
    }

    @Test("a receiver that is down and comes back gets every event, signed, in order per reservation")
    func downThenBack() async throws {
        let database = try await TestDatabase.create()
        let receiver = try WebhookReceiver()  // not started: nothing listens on its port
        let server = try await ServeProcess(database: database, instance: "alpha", environment: Self.environment(receiver))
        defer { server.stop() }

        let reservations = try await WebhookProbe.makeEvents(server.client, database, reservations: 6)
        #expect(reservations.count == 6)
        // Refused connections are recorded as attempts, with a growing back-off, and nothing is done.
        try await PaymentFixtures.waitUntil(
            database, "select count(*) >= 12 from app.webhook_attempts where error like 'cannot connect%'")
        #expect(try database.scalar("select count(*) from app.outbox where delivery_status <> 'PENDING'") == "0")
        #expect(try database.scalar("select count(*) from app.webhook_attempts where status_code is not null") == "0")

        try await receiver.start()
        let done = try await WebhookProbe.allDone(database)
        try #require(done, "still PENDING after the receiver came back:\n\(server.log)")

        let events = try WebhookProbe.events(database)
        let entries = receiver.entries
        #expect(events.count == 12, "\(events.map(\.kind))")  // held + paid or cancelled, per reservation
        #expect(Set(events.map(\.kind)) == ["reservation.held", "payment.completed", "reservation.cancelled"])
        #expect(events.allSatisfy { $0.status == "DELIVERED" })
        #expect(entries.allSatisfy { $0.valid && $0.fresh }, "a signature failed the receiver's own check")
        #expect(Set(entries.filter { $0.answered == 204 }.map(\.id)) == Set(events.map(\.webhookID)), "every event arrived")
        #expect(WebhookProbe.orderBroken(events, entries).isEmpty, "\(WebhookProbe.orderBroken(events, entries))")
        let firsts = Dictionary(grouping: events, by: { $0.reservationID ?? 0 }).values.map {
            $0.min { $0.eventID < $1.eventID }!
        }
        #expect(firsts.allSatisfy { $0.attempts >= 2 }, "each reservation's first event was tried while the receiver was down")
        // A later event of a reservation was not even tried before the earlier one was acknowledged.
        let early = try database.scalar(
            """
            select count(*) from app.outbox later
            join app.outbox earlier on earlier.reservation_id = later.reservation_id and earlier.event_id < later.event_id
            where exists (
              select from app.webhook_attempts a
              where a.event_id = later.event_id
                and a.started_at < (select min(s.started_at) from app.webhook_attempts s
                                    where s.event_id = earlier.event_id and s.status_code between 200 and 299))
            """)
        #expect(early == "0", "later events tried before the earlier one was acknowledged")
        // every attempt is recorded with its duration; the successful ones with the answer
        let recorded = try database.scalar(
            """
            select count(*) = (select sum(attempts) from app.outbox) and bool_and(duration_ms >= 0)
              and count(*) filter (where status_code = 204) = (select count(*) from app.outbox)
            from app.webhook_attempts
            """)
        #expect(recorded == "t")
    }

    @Test("a receiver that hangs: attempts time out and are retried; payments meanwhile take their usual time")
    func hangingReceiver() async throws {
        let database = try await TestDatabase.create()
        let receiver = try WebhookReceiver()
        try await receiver.start(mode: "slow", delay: 30)
        defer { receiver.stop() }
        let server = try await ServeProcess(
            database: database, instance: "alpha",
            environment: Self.environment(receiver, ["WEBHOOK_TIMEOUT_MS": "1500", "WEBHOOK_MAX_IN_FLIGHT": "2"]))
        defer { server.stop() }

        let client = server.client
        let concert = try Fixtures.concert(database, dates: 1, price: 1000)
        let fans = try await Fixtures.activeTokens(client, database, concertId: concert.concertId, count: 20)
        // Holds, charges: events pile up in front of the hanging receiver.
        var holds = [(token: String, reservation: Int64)]()
        for (index, fan) in fans.enumerated() {
            holds.append(
                (fan.token, try await PaymentFixtures.hold(client, token: fan.token, concert: concert, seatNo: index + 1)))
            try await Fixtures.charge(client, token: fan.token, amount: 1000)
        }
        try await PaymentFixtures.waitUntil(database, "select count(*) >= 2 from app.webhook_attempts where error = 'timed out'")
        // The deliverer is at its limit of POSTs in flight, all hanging: pay now.
        var latencies = [Double]()
        for hold in holds {
            let started = Date()
            let answer = try await PaymentFixtures.pay(client, token: hold.token, reservationId: hold.reservation)
            latencies.append(Date().timeIntervalSince(started))
            #expect(answer.status == 201)
        }
        latencies.sort()
        let median = latencies[latencies.count / 2]
        let slowest = latencies.last!
        // A payment never waits for the receiver: far below the 1.5 s timeout of an attempt.
        #expect(median < 0.5, "median payment \(median) s while the receiver hangs")
        #expect(slowest < 1.5, "slowest payment \(slowest) s while the receiver hangs")
        let timedOut = try database.scalar(
            "select count(*) from app.webhook_attempts where error = 'timed out' and duration_ms between 1400 and 5000")
        #expect(Int(timedOut ?? "0")! >= 2, "attempts recorded as timed out after about 1.5 s")
        // At most 2 in flight: the receiver saw no more than 2 requests started within any one timeout window.
        let starts = receiver.entries.filter { $0.started == true }.map(\.arrived).sorted()
        let crowded = starts.indices.contains { i in starts[i...].prefix { $0 - starts[i] < 1.0 }.count > 2 }
        #expect(!crowded, "more than 2 POSTs in flight: \(starts)")

        try await receiver.set(mode: "ok")
        let done = try await WebhookProbe.allDone(database)
        try #require(done, "still PENDING after the receiver recovered:\n\(server.log)")
        let events = try WebhookProbe.events(database)
        #expect(events.count == 40)
        #expect(
            WebhookProbe.orderBroken(events, receiver.entries).isEmpty, "\(WebhookProbe.orderBroken(events, receiver.entries))")
        #expect(!server.log.contains("job failed"), "a job failed while the receiver hung:\n\(server.log)")
    }

    @Test("a replay: `webhooks retry` sends a delivered event again with the same webhook-id, which the receiver spots")
    func replay() async throws {
        let database = try await TestDatabase.create()
        let receiver = try WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        // A rotation: the server signs with an old and a new secret; this receiver knows only the new one.
        let old = "whsec_" + Data("the key being retired".utf8).base64EncodedString()
        let server = try await ServeProcess(
            database: database, instance: "alpha",
            environment: Self.environment(receiver, ["WEBHOOK_SECRET": "\(old) \(WebhookReceiver.secret)"]))
        defer { server.stop() }
        _ = try await WebhookProbe.makeEvents(server.client, database, reservations: 1)
        try #require(try await WebhookProbe.allDone(database), "\(server.log)")
        let event = try #require(try WebhookProbe.events(database).first)

        let output = try Subprocess.run(
            [
                "/usr/bin/env", "DATABASE_URL=\(database.adminConninfo)", "BOXOFFICE_SQL_DIR=\(TestPaths.sql)",
                TestPaths.binary, "webhooks", "retry", String(event.eventID),
            ])
        #expect(output.contains("PENDING"), "\(output)")
        try #require(try await WebhookProbe.allDone(database), "\(server.log)")

        let copies = receiver.entries.filter { $0.id == event.webhookID }
        #expect(copies.count == 2, "\(copies)")
        #expect(copies.map(\.duplicate) == [false, true], "the receiver spots the second as a replay of the first")
        #expect(copies.allSatisfy { $0.valid && $0.fresh }, "signed under the new secret too")

        let listing = try Subprocess.run(
            [
                "/usr/bin/env", "DATABASE_URL=\(database.adminConninfo)", "BOXOFFICE_SQL_DIR=\(TestPaths.sql)",
                TestPaths.binary, "webhooks", "list", "--status", "delivered",
            ])
        #expect(listing.contains(event.webhookID.dropFirst(4)), "\(listing)")
        #expect(listing.contains("reservation.held"))
    }

    @Test(
        "kill -9 of the delivering leader mid-delivery: the other instance takes over; nothing is lost; repeats keep their webhook-id"
    )
    func killedLeader() async throws {
        let database = try await TestDatabase.create()
        let receiver = try WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        let env = Self.environment(receiver, ["WEBHOOK_TIMEOUT_MS": "3000"])
        let alpha = try await ServeProcess(database: database, instance: "alpha", environment: env)
        defer { alpha.stop() }
        let leads = try await JobProbe.waitUntil { try JobProbe.runs(database).contains { $0.instance == "alpha" } }
        try #require(leads, "\(alpha.log)")
        let beta = try await ServeProcess(database: database, instance: "beta", environment: env)
        defer { beta.stop() }

        try await receiver.set(mode: "slow", delay: 2.5)
        _ = try await WebhookProbe.makeEvents(alpha.client, database, reservations: 6)
        // alpha has POSTs in flight that the receiver is sitting on
        let inFlight = try await JobProbe.waitUntil { receiver.entries.contains { $0.started == true } }
        try #require(inFlight, "\(alpha.log)")
        alpha.stop(signal: SIGKILL)
        try await receiver.set(mode: "ok")

        let done = try await WebhookProbe.allDone(database, seconds: 90)
        try #require(done, "still PENDING after the kill:\n\(beta.log)")
        let events = try WebhookProbe.events(database)
        let entries = receiver.entries
        #expect(events.count == 12)
        #expect(Set(entries.filter { $0.answered == 204 }.map(\.id)) == Set(events.map(\.webhookID)), "nothing lost")
        #expect(entries.allSatisfy { $0.valid })
        #expect(WebhookProbe.orderBroken(events, entries).isEmpty, "\(WebhookProbe.orderBroken(events, entries))")
        #expect(beta.log.contains("scheduler: leading"))
        let betaAttempts = try database.scalar("select count(*) from app.webhook_attempts where instance = 'beta'")
        #expect(Int(betaAttempts ?? "0")! > 0, "beta delivered after the kill")
        // The POSTs alpha had in flight arrive again under the same id (a duplicate, not a new event).
        let repeats = entries.filter { $0.duplicate && $0.answered == 204 }
        #expect(!repeats.isEmpty, "no event alpha had in flight was sent again")
        #expect(repeats.allSatisfy { repeated in events.contains { $0.webhookID == repeated.id } })
    }
}
