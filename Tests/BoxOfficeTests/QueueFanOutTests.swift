import Foundation
import Testing

@testable import BoxOffice

/// The event streams' fan-out (QueueNotifier): one admission costs one
/// watermark read and one ticket read per stream it admitted (plus the few
/// next in line), however many streams are open; every admitted stream hears
/// it; the others are left alone until their refresh.
@Suite("Queue event fan-out")
struct QueueFanOutTests {
    /// Only NOTIFYs make reads here: refresh and sweep are far away.
    static func quiet(front: Int) -> QueueNotifier.Settings {
        var settings = QueueNotifier.Settings()
        settings.refresh = .seconds(600)
        settings.sweep = .seconds(600)
        settings.front = front
        return settings
    }

    /// `count` users join in turn; their tokens in arrival order, each with an open stream past its first event.
    static func line(_ server: TestServer, concertId: Int64, count: Int) async throws -> [(
        token: String, stream: QueueFixtures.EventStream
    )] {
        var line: [(String, QueueFixtures.EventStream)] = []
        for userId in try Fixtures.users(server.database, count: count) {
            let token = try await Fixtures.join(server.client, userId: userId, concertId: concertId)
            let stream = try await QueueFixtures.EventStream(port: server.port, token: token)
            let first = try #require(try await stream.next(within: .seconds(20)), "no first event")
            #expect(first.json["status"] as? String == "WAITING")
            line.append((token, stream))
        }
        // every stream registered with the notifier before the admission
        let deadline = ContinuousClock.now + .seconds(10)
        while server.notifier.openStreams < count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(server.notifier.openStreams == count)
        return line
    }

    @Test("one admission of 5 among 40 open streams: the 5 hear ACTIVE, 1 watermark read and 5 + front ticket reads")
    func boundedReads() async throws {
        let front = 3
        try await TestServer.with(notifierSettings: Self.quiet(front: front)) { server in
            let concert = try Fixtures.concert(server.database, dates: 1)
            let line = try await Self.line(server, concertId: concert.concertId, count: 40)
            defer { for entry in line { entry.stream.close() } }
            let before = server.notifier.reads

            #expect(try Fixtures.admit(server.database, cap: 5) == 5)
            for (index, entry) in line.prefix(5).enumerated() {
                let event = try await entry.stream.next("ticket", within: .seconds(20)) { $0["status"] as? String == "ACTIVE" }
                #expect(event != nil, "stream \(index + 1) did not hear its admission")
            }
            // The next `front` in line hear their new place.
            for (index, entry) in line.dropFirst(5).prefix(front).enumerated() {
                let event = try await entry.stream.next("ticket", within: .seconds(20))
                #expect(
                    (event?.json["position"] as? NSNumber)?.intValue == index + 1,
                    "front stream \(index): \(event?.data ?? "nothing")")
            }
            // Everyone further back is not read: nothing arrives on their streams.
            for entry in line.dropFirst(5 + front).prefix(5) {
                #expect(try await entry.stream.next(within: .milliseconds(300)) == nil)
            }
            let after = server.notifier.reads
            #expect(after.watermarks - before.watermarks == 1, "watermark reads: \(after.watermarks - before.watermarks)")
            #expect(after.tickets - before.tickets == 5 + front, "ticket reads: \(after.tickets - before.tickets) for 40 streams")
        }
    }

    @Test("60 streams, all admitted at once: each hears it, with one watermark read and one ticket read each")
    func everyoneHears() async throws {
        try await TestServer.with(notifierSettings: Self.quiet(front: 8)) { server in
            let concert = try Fixtures.concert(server.database, dates: 1)
            let line = try await Self.line(server, concertId: concert.concertId, count: 60)
            defer { for entry in line { entry.stream.close() } }
            let before = server.notifier.reads
            #expect(try Fixtures.admit(server.database, cap: 100) == 60)
            var heard = 0
            for entry in line {
                let event = try await entry.stream.next("ticket", within: .seconds(20)) { $0["status"] as? String == "ACTIVE" }
                if event != nil { heard += 1 }
            }
            #expect(heard == 60)
            let after = server.notifier.reads
            #expect(after.watermarks - before.watermarks == 1)
            #expect(after.tickets - before.tickets == 60)
        }
    }

    /// Runs `body` on a thread of its own (a blocking database call that
    /// must not hold up the cooperative pool the notifier runs on).
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    /// A fan's poll of `token` recording "still here" (31 s after the join,
    /// so it writes), whose transaction stays open until another session
    /// running `until` is seen asleep (in pg_sleep: admission between tries
    /// of a lock), then commits; it fails after 20 s if that never happens.
    /// One script, so the commit follows the sighting within a millisecond
    /// whatever the load on the client.
    static func heldPoll(token: String, until query: String) -> String {
        precondition(UUID(uuidString: token) != nil && !query.contains("'"))
        return """
            begin;
            select app.queue_status('\(token)'::uuid, now() + interval '31 seconds');
            do $$
            declare
              v_until timestamptz := clock_timestamp() + interval '20 seconds';
            begin
              loop
                perform pg_stat_clear_snapshot();
                exit when exists (select from pg_stat_activity a
                                  where a.datname = current_database() and a.pid <> pg_backend_pid()
                                    and a.wait_event = 'PgSleep' and a.query like '%\(query)%');
                if clock_timestamp() > v_until then
                  raise exception 'nobody running \(query) waited for the ticket this poll holds';
                end if;
                perform pg_sleep(0.001);
              end loop;
            end
            $$;
            commit;
            """
    }

    /// With thousands of pages open, the streams' own refreshes write "still
    /// here" on WAITING tickets hundreds of times a second, and a large
    /// admission may meet one of those writes in flight; it used to stop
    /// below that ticket (in a release run of bench/streams, 4 700 meant to
    /// go in at once became 52). Here the poll is held open on purpose, in
    /// the middle of a line of 300 open streams, while one admission of 300
    /// runs: the admission must wait for it (seen sleeping while the poll
    /// still holds the row), admit all 300, and each stream hear it, for one
    /// watermark read and one ticket read per stream.
    @Test("an admission of 300 meeting a fan's poll in flight: it waits, admits all, and all 300 streams hear ACTIVE")
    func bigAdmissionPastAPoll() async throws {
        let count = 300
        try await TestServer.with(notifierSettings: Self.quiet(front: 8)) { server in
            let database = server.database
            let concert = try Fixtures.concert(database, dates: 1)
            let line = try await Self.line(server, concertId: concert.concertId, count: count)
            defer { for entry in line { entry.stream.close() } }
            let polled = line[count / 2].token
            let before = server.notifier.reads

            // A poll of the ticket in the middle, 31 s after the join, so it
            // records "still here" (a write), on a connection of its own. Its
            // transaction stays open until the server sees the admission
            // asleep between tries of the ticket's lock (proof that admission
            // met the lock and waited), then commits at once; when admission
            // never waits, the poll fails after 20 s instead.
            let poll = try Connection.open(conninfo: database.adminConninfo + " application_name=held_poll")
            defer { poll.close() }
            let polling = Task {
                try await Self.onThread {
                    try poll.run(script: Self.heldPoll(token: polled, until: "api.queue_admit()"))
                }
            }
            // Admission starts once the poll holds the row (it is in its loop).
            let pollHolds =
                "select count(*) from pg_stat_activity where application_name = 'held_poll' and wait_event = 'PgSleep'"
            var holding = false
            let deadline = ContinuousClock.now + .seconds(20)
            while !holding && ContinuousClock.now < deadline {
                holding = try QueueFixtures.count(database, pollHolds) == 1
                if !holding { try await Task.sleep(for: .milliseconds(2)) }
            }
            try #require(holding, "the poll never held the ticket")
            let admitted = try await Self.onThread { try Fixtures.admit(database, cap: count) }
            let waited: Bool
            do {
                _ = try await polling.value
                waited = true
            } catch {
                waited = false
            }
            #expect(waited, "admission did not wait for the ticket a poll held: it admitted \(admitted)")
            #expect(admitted == count, "admitted \(admitted) of \(count)")
            // The poll's write is in the admitted row: it committed first, then admission took the ticket.
            #expect(
                try QueueFixtures.ticket(database, polled, "status || ' ' || (last_seen_at > joined_at + interval '30 seconds')")
                    == "ACTIVE true")

            var deaf: [Int] = []
            let heardBy = ContinuousClock.now + .seconds(30)
            for (index, entry) in line.enumerated() {
                let left = max(heardBy - ContinuousClock.now, .milliseconds(100))
                let event = try await entry.stream.next("ticket", within: left) { $0["status"] as? String == "ACTIVE" }
                if event == nil { deaf.append(index + 1) }
            }
            #expect(deaf.isEmpty, "\(deaf.count) of \(count) streams did not hear ACTIVE, the first at place \(deaf.first ?? 0)")
            let after = server.notifier.reads
            #expect(after.watermarks - before.watermarks == 1, "watermark reads: \(after.watermarks - before.watermarks)")
            let reads = after.tickets - before.tickets
            #expect(reads == count, "ticket reads: \(reads) for \(count) streams")
        }
    }

    @Test("at a scheduled opening every pre-queued stream hears its shuffled place at once, one read each, not at its refresh")
    func openingReachesEveryStream() async throws {
        let count = 30
        try await TestServer.with(notifierSettings: Self.quiet(front: 2)) { server in
            let concert = try Fixtures.concert(server.database, dates: 1)
            let id = String(concert.concertId)
            _ = try server.database.scalar("select api.sale_schedule($1::bigint, now() + interval '1 hour') is not null", [id])
            let line = try await Self.line(server, concertId: concert.concertId, count: count)
            defer { for entry in line { entry.stream.close() } }
            let before = server.notifier.reads

            // The opening: the runs after it shuffle the pre-queue (once the
            // line is closed up to the opening's cut) and admit 2.
            _ = try server.database.scalar("select api.sale_schedule($1::bigint, now()) is not null", [id])
            var opened = false
            for _ in 0..<5 where !opened {
                _ = try QueueFixtures.admit(server.database, cap: 2)
                opened = try server.database.scalar(
                    "select sale_opened_at is not null from app.concerts where concert_id = $1::bigint", [id]) == "t"
            }
            try #require(opened, "the sale did not open")

            var positions: [Int] = []
            var admitted = 0
            for (index, entry) in line.enumerated() {
                let event = try await entry.stream.next("ticket", within: .seconds(10)) {
                    $0["status"] as? String == "ACTIVE" || $0["position"] is NSNumber
                }
                guard let event else {
                    Issue.record("stream \(index + 1) heard nothing of the opening")
                    continue
                }
                if event.json["status"] as? String == "ACTIVE" {
                    admitted += 1
                } else {
                    positions.append((event.json["position"] as? NSNumber)?.intValue ?? -1)
                }
            }
            #expect(admitted == 2)
            #expect(positions.sorted() == Array(1...(count - 2)), "every place once: \(positions.sorted())")
            // one read per stream for the opening, plus the admission's scan
            // (the admitted and the `front` next, by the places they kept),
            // once the reads still in flight are done
            try await Task.sleep(for: .seconds(1))
            let reads = server.notifier.reads.tickets - before.tickets
            #expect(reads >= count && reads <= count + 2 + 2, "ticket reads: \(reads) for \(count) streams")
        }
    }

    @Test("each stream is refreshed on its own clock (the heartbeat), and ends with an error event once its ticket is gone")
    func refreshAndEnd() async throws {
        var settings = QueueNotifier.Settings()
        settings.refresh = .seconds(1)
        try await TestServer.with(notifierSettings: settings) { server in
            let concert = try Fixtures.concert(server.database, dates: 1)
            let line = try await Self.line(server, concertId: concert.concertId, count: 2)
            defer { for entry in line { entry.stream.close() } }
            let beat = try await line[1].stream.next("ticket", within: .seconds(10))
            #expect(beat?.json["position"] as? NSNumber == 2, "a heartbeat with the ticket: \(beat?.data ?? "nothing")")
            let gone = try await server.client.send("DELETE", "/api/queue/tokens/me", token: line[0].token)
            #expect(gone.status == 204)
            let end = try await line[0].stream.next("error", within: .seconds(10))
            #expect((end?.json["error"] as? [String: Any])?["code"] as? String == "TOKEN_EXPIRED")
            // the other one hears its new place at its next refresh
            let moved = try await line[1].stream.next("ticket", within: .seconds(10)) { ($0["position"] as? NSNumber) == 1 }
            #expect(moved != nil)
            let deadline = ContinuousClock.now + .seconds(5)
            while server.notifier.openStreams > 1 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(server.notifier.openStreams == 1, "the ended stream is unregistered")
        }
    }
}
