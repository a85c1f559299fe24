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

    /// What the receiver does until it recovers: nothing listens on its port,
    /// or it answers every POST 500.
    enum Trouble: String, CaseIterable, Sendable {
        case down, failing
    }

    @Test(
        "a receiver that is down, or answers 500, and comes back gets every event, signed, in order per reservation",
        arguments: Trouble.allCases)
    func downThenBack(_ trouble: Trouble) async throws {
        let database = try await TestDatabase.create()
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        if trouble == .failing { try await receiver.start(mode: "fail") }  // down: not started yet
        // A 500 must be recorded as one: a generous timeout, so that a slow
        // answer on a loaded machine is not recorded as "timed out" instead.
        let extra = trouble == .failing ? ["WEBHOOK_TIMEOUT_MS": "10000"] : [:]
        let server = try await ServeProcess(
            database: database, instance: "alpha", environment: Self.environment(receiver, extra))
        defer { server.stop() }

        let reservations = try await WebhookProbe.makeEvents(server.client, database, reservations: 6)
        #expect(reservations.count == 6)
        // Until every reservation's first event has been tried (and failed)
        // at least once: deliveries go in order per reservation, so an
        // attempt of a reservation is one of its first event.
        switch trouble {
        case .down:
            // Refused connections are recorded as attempts, with a growing back-off, and nothing is done.
            try await PaymentFixtures.waitUntil(
                database,
                """
                select count(*) >= 12 and count(distinct o.reservation_id) = 6
                from app.webhook_attempts a join app.outbox o on o.event_id = a.event_id
                where a.error like 'cannot connect%'
                """)
            #expect(try database.scalar("select count(*) from app.webhook_attempts where status_code is not null") == "0")
        case .failing:
            // Each 500 is recorded with its status and the start of the answer
            // ("receiver failing", what receiver.py sends then), and is no delivery.
            try await PaymentFixtures.waitUntil(
                database,
                """
                select count(*) >= 12 and count(distinct o.reservation_id) = 6
                from app.webhook_attempts a join app.outbox o on o.event_id = a.event_id
                where a.status_code = 500
                """)
            let other = try database.scalar(
                """
                select count(*) from app.webhook_attempts
                where status_code is distinct from 500 or response_head is distinct from 'receiver failing'
                """)
            #expect(other == "0", "attempts recorded otherwise than 500 'receiver failing'")
            let answered = receiver.entries
            #expect(answered.count >= 12 && answered.allSatisfy { $0.answered == 500 && $0.valid })
        }
        #expect(try database.scalar("select count(*) from app.outbox where delivery_status <> 'PENDING'") == "0")

        switch trouble {
        case .down: try await receiver.start()
        case .failing: try await receiver.set(mode: "ok")
        }
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
        let hangSeen = try JobProbe.now(database)
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

        // The jobs keep their schedule (outbox_dispatch too, on the table the
        // deliverer claims from): a fan who joins now is admitted by
        // queue_admit (due every second) as usual.
        let joined = Date()
        let token = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
        var admittedAfter: Double?
        while admittedAfter == nil && Date().timeIntervalSince(joined) < 30 {
            if try await client.get("/api/queue/tokens/me", token: token).string("status") == "ACTIVE" {
                admittedAfter = Date().timeIntervalSince(joined)
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect((admittedAfter ?? .infinity) < 20, "a fan who joined during the hang waited \(admittedAfter ?? .infinity) s for ACTIVE")
        // Hang on for a while longer, then look at every run of the window.
        while try JobProbe.now(database) - hangSeen < 8 { try await Task.sleep(for: .milliseconds(250)) }
        let hangLeft = try JobProbe.now(database)
        let during = try JobProbe.runs(database).filter { $0.started >= hangSeen && $0.started < hangLeft }
        #expect(!during.contains { $0.status == "failed" }, "\(during)")
        for (job, every) in [("queue_admit", 1.0), ("holds_expire", 2.0), ("outbox_dispatch", 2.0)] {
            // Runs that started and finished within the window, with no
            // stretch of it longer than three periods (at least 6 s: a loaded
            // machine delays a run now and then) without one starting.
            let finished = during.filter { $0.job == job && $0.status == "succeeded" && ($0.finished ?? .infinity) <= hangLeft }
            let marks = [hangSeen] + finished.map(\.started) + [hangLeft]
            let longest = zip(marks.dropFirst(), marks).map { $0 - $1 }.max() ?? .infinity
            #expect(marks.count - 2 >= Int((hangLeft - hangSeen) / every / 2), "\(job) ran \(marks.count - 2) times in \(hangLeft - hangSeen) s")
            #expect(longest < max(3 * every, 6), "\(job): \(longest) s without a run while the receiver hung: \(during)")
        }

        try await receiver.set(mode: "ok")
        let done = try await WebhookProbe.allDone(database)
        try #require(done, "still PENDING after the receiver recovered:\n\(server.log)")
        let events = try WebhookProbe.events(database)
        #expect(events.count == 40)
        #expect(
            WebhookProbe.orderBroken(events, receiver.entries).isEmpty, "\(WebhookProbe.orderBroken(events, receiver.entries))")
        #expect(!server.log.contains("job failed"), "a job failed while the receiver hung:\n\(server.log)")
    }

    @Test("behind PgBouncer in transaction mode: the webhook pool's statements go unprepared, and every event arrives")
    func behindPgBouncer() async throws {
        let database = try await TestDatabase.create()
        let receiver = try WebhookReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        // DATABASE_URL is the pooler, as in PgBouncerTests; the lock, LISTEN and the jobs go direct.
        let server = try await ServeProcess(
            database: database, instance: "pooled",
            environment: Self.environment(
                receiver,
                [
                    "DATABASE_URL": try database.pooledConninfo(), "DATABASE_SESSION_URL": database.apiConninfo,
                    "WEBHOOK_TIMEOUT_MS": "10000",
                ]))
        defer { server.stop() }

        _ = try await WebhookProbe.makeEvents(server.client, database, reservations: 4)
        let done = try await WebhookProbe.allDone(database)
        try #require(done, "still PENDING behind PgBouncer:\n\(server.log.suffix(3_000))")
        let events = try WebhookProbe.events(database)
        #expect(events.count == 8)
        #expect(events.contains { $0.kind == "payment.completed" })
        #expect(events.allSatisfy { $0.status == "DELIVERED" })
        #expect(Set(receiver.entries.filter { $0.answered == 204 }.map(\.id)) == Set(events.map(\.webhookID)))
        #expect(receiver.entries.allSatisfy { $0.valid })
        // Each claimed once and recorded at once: no claim or record failed on a pooled session.
        #expect(events.allSatisfy { $0.attempts == 1 }, "\(events.map(\.attempts))")
        for failure in ["already exists", "does not exist", "cannot claim", "not recorded"] {
            #expect(!server.log.contains(failure), "\(server.log.suffix(3_000))")
        }
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
        // What alpha had sent (answered or still in flight) when it died,
        // read once the last of its POSTs can have reached the receiver:
        // beta takes over only once alpha's lease has run out (8 s here).
        try await Task.sleep(for: .milliseconds(500))
        let sentByAlpha = Set(receiver.entries.map(\.id))
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
        #expect(Set(repeats.map(\.id)).isSubset(of: sentByAlpha),
                "only what alpha had sent comes again: \(Set(repeats.map(\.id)).subtracting(sentByAlpha))")
    }
}
