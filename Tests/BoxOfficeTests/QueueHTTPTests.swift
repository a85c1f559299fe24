import Foundation
import Testing

@testable import BoxOffice

/// The waiting room end to end (`/api/queue/tokens` and its `me` routes) and
/// the token gate, over real HTTP against a real database. Admission and
/// expiry run as the scheduler would run them: `api.queue_admit()` and
/// `api.tokens_expire()` on a superuser connection with the policy set.
@Suite("The waiting room over HTTP")
struct QueueHTTPTests {
    // MARK: order and positions

    @Test("20 users joining one after another get positions 1 to 20 and are admitted strictly in that order")
    func twentyAdmittedInOrder() async throws {
        try await TestServer.with { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            var tokens: [String] = []
            for number in 1...20 {
                let userId = try await Fixtures.user(client, name: "fan \(number)")
                let answer = try await client.post("/api/queue/tokens", ["userId": userId, "concertId": concert.concertId])
                #expect(answer.status == 201)
                #expect(answer.int("position") == Int64(number))
                #expect(answer.int("userId") == userId)
                #expect(answer.string("status") == "WAITING")
                QueueFixtures.expectTicketShape(answer.json)
                tokens.append(try #require(answer.string("token")))
            }
            #expect(Set(tokens).count == 20)

            // Admit with a cap of 3; after each admission check all 20 tickets;
            // then some ACTIVE users leave so that slots free up for the next.
            var left = Set<Int>()
            var everActive = Set<Int>()
            var lastPosition: [Int: Int64] = [:]
            var admittedTotal = 0
            var round = 0
            while left.count < 20 && round < 30 {
                round += 1
                admittedTotal += try QueueFixtures.admit(server.database, cap: 3)
                var statuses: [String] = []
                var active: [Int] = []
                var waiting: [(index: Int, position: Int64)] = []
                for (index, token) in tokens.enumerated() {
                    let answer = try await client.get("/api/queue/tokens/me", token: token)
                    if left.contains(index) {
                        #expect(answer.status == 410 && answer.errorCode == "TOKEN_EXPIRED", "a left token: \(answer.status)")
                        statuses.append("LEFT")
                        continue
                    }
                    #expect(answer.status == 200, "ticket \(index + 1): \(answer.status) \(answer.json)")
                    QueueFixtures.expectTicketShape(answer.json)
                    let status = answer.string("status") ?? "?"
                    statuses.append(status)
                    if status == "ACTIVE" {
                        active.append(index)
                        everActive.insert(index)
                    } else if status == "WAITING" {
                        let position = answer.int("position") ?? -1
                        waiting.append((index, position))
                        if let before = lastPosition[index] {
                            #expect(position <= before, "ticket \(index + 1) rose from \(before) to \(position)")
                        }
                        lastPosition[index] = position
                    }
                }
                let summary = "round \(round): " + statuses.enumerated().map { "\($0.offset + 1):\($0.element)" }.joined(separator: " ")
                // Nobody is ACTIVE while someone who joined earlier is still WAITING.
                if let firstWaiting = waiting.first?.index, let lastActive = active.last {
                    #expect(lastActive < firstWaiting, "\(summary)")
                }
                #expect(active.count == min(3, 20 - left.count), "\(summary)")
                // The WAITING ones stand at 1, 2, 3... in join order.
                #expect(waiting.map(\.position) == waiting.indices.map { Int64($0 + 1) }, "\(summary)")
                #expect(waiting.map(\.index) == waiting.map(\.index).sorted(), "\(summary)")

                // Two of the ACTIVE users leave (all of them once nobody waits).
                for index in active.prefix(waiting.isEmpty ? active.count : 2) {
                    let answer = try await client.send("DELETE", "/api/queue/tokens/me", token: tokens[index])
                    #expect(answer.status == 204)
                    #expect(answer.body.isEmpty)
                    left.insert(index)
                }
            }
            #expect(everActive.count == 20)
            #expect(admittedTotal == 20)
            #expect(left.count == 20)
            // In the table too: admission times follow queue order.
            #expect(try QueueFixtures.count(server.database, """
                select count(*) from app.queue_tickets a join app.queue_tickets b
                  on a.concert_id = b.concert_id and a.queue_no < b.queue_no and a.activated_at > b.activated_at
                """) == 0)
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.queue_tickets where status = 'LEFT' and activated_at is not null") == 20)
        }
    }

    @Test("a polled position never rises while others join behind, and drops by one for each leaver ahead")
    func positionNeverRises() async throws {
        try await TestServer.with { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            var ahead: [String] = []
            for _ in 1...4 {
                ahead.append(try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId))
            }
            let mine = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            var last = try #require(try await client.get("/api/queue/tokens/me", token: mine).int("position"))
            #expect(last == 5)
            var leavers = 0
            for step in 1...8 {
                let behind = try await client.post("/api/queue/tokens", ["userId": try await Fixtures.user(client), "concertId": concert.concertId])
                #expect(behind.status == 201)
                #expect(behind.int("position") == Int64(5 - leavers + step))
                if step.isMultiple(of: 2) {
                    let gone = try await client.send("DELETE", "/api/queue/tokens/me", token: ahead[leavers])
                    #expect(gone.status == 204)
                    leavers += 1
                }
                let answer = try await client.get("/api/queue/tokens/me", token: mine)
                #expect(answer.status == 200)
                QueueFixtures.expectTicketShape(answer.json)
                let position = try #require(answer.int("position"))
                #expect(position <= last, "step \(step): rose from \(last) to \(position)")
                #expect(position == Int64(5 - leavers))
                last = position
            }
            #expect(last == 1)
        }
    }

    @Test("200 distinct users joining at once get 200 tickets; once all are in, their positions are exactly 1 to 200")
    func twoHundredAtOnce() async throws {
        try await TestServer.with { server in
            let concert = try Fixtures.concert(server.database, dates: 1)
            let userIds = try Fixtures.users(server.database, count: 200)
            let answers = try await QueueFixtures.joinAll(server.client, userIds: userIds, concertId: concert.concertId)
            #expect(answers.count == 200)
            #expect(answers.allSatisfy { $0.status == 201 }, "statuses: \(Dictionary(grouping: answers, by: \.status).mapValues(\.count))")
            // A join's place comes from a sequence and its answer counts only
            // the tickets visible then: a join ahead that was still committing
            // is not counted yet (so two answers may share a number). Once
            // every join is in, a poll counts it (below).
            let joinedAt = answers.compactMap { $0.int("position") }
            #expect(joinedAt.count == 200 && joinedAt.allSatisfy { (1...200).contains($0) })
            #expect(Set(answers.compactMap { $0.string("token") }).count == 200)
            #expect(zip(answers, userIds).allSatisfy { $0.int("userId") == $1 })
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.queue_tickets") == 200)
            #expect(try QueueFixtures.count(server.database, "select count(distinct user_id) from app.queue_tickets where status = 'WAITING'") == 200)

            // Polled afterwards, the positions are still exactly 1 to 200.
            let polled = try await withThrowingTaskGroup(of: Int64?.self) { group in
                for answer in answers {
                    let token = answer.string("token")
                    group.addTask { try await server.client.get("/api/queue/tokens/me", token: token).int("position") }
                }
                return try await group.reduce(into: [Int64?]()) { $0.append($1) }
            }
            #expect(Set(polled.compactMap { $0 }) == Set((1...200).map(Int64.init)))
            #expect(try Fixtures.audit(server.database).isEmpty)
        }
    }

    @Test("one user joining 10 times at once gets one ticket, the same token in all 10 answers")
    func tenJoinsOfOneUser() async throws {
        try await TestServer.with(timeouts: PaymentFixtures.patient) { server in
            let concert = try Fixtures.concert(server.database, dates: 1)
            let userId = try await Fixtures.user(server.client)
            // A ticket of the user, inserted and not committed: every join
            // waits on the unique index of live tickets behind it; once it is
            // rolled back (its number stays a gap) one join's ticket is the
            // first, and the others wait on that one and answer with it.
            let answers = try await PaymentFixtures.atOnceBehindLock(
                server.database,
                lock: """
                    insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
                    values ($1::bigint, nextval('app.queue_tickets_queue_no_seq'), $2::bigint, 'WAITING', now(), now())
                    returning 1
                    """,
                [String(concert.concertId), String(userId)], function: "queue_join", 10
            ) { _ in
                try await server.client.post("/api/queue/tokens", ["userId": userId, "concertId": concert.concertId])
            }
            #expect(answers.map(\.status).sorted() == [200, 200, 200, 200, 200, 200, 200, 200, 200, 201])
            let tokens = Set(answers.map { $0.string("token") })
            #expect(tokens.count == 1)
            #expect(tokens.first??.isEmpty == false)
            #expect(answers.allSatisfy { $0.int("position") == 1 && $0.string("status") == "WAITING" })
            for answer in answers { QueueFixtures.expectTicketShape(answer.json) }
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.queue_tickets") == 1)
            #expect(try Fixtures.audit(server.database).isEmpty)
        }
    }

    // MARK: admission

    @Test("cap 100 with 500 waiting: one admission leaves exactly 100 ACTIVE; two admitters at once never pass the cap nor admit anyone twice")
    func capHundredOfFiveHundred() async throws {
        try await TestServer.with { server in
            let database = server.database
            let concert = try Fixtures.concert(database, dates: 1)
            let userIds = try Fixtures.users(database, count: 500)
            let answers = try await QueueFixtures.joinAll(server.client, userIds: userIds, concertId: concert.concertId)
            #expect(answers.allSatisfy { $0.status == 201 })
            let activeSQL = "select count(*) from app.queue_tickets where status = 'ACTIVE'"
            let everAdmittedSQL = "select count(*) from app.queue_tickets where activated_at is not null"
            // Nobody WAITING ahead of someone who was ever admitted.
            let outOfOrderSQL = """
                select count(*) from app.queue_tickets w
                where w.status = 'WAITING'
                  and w.queue_no < (select max(a.queue_no) from app.queue_tickets a where a.activated_at is not null)
                """

            #expect(try QueueFixtures.admit(database, cap: 100) == 100)
            #expect(try QueueFixtures.count(database, activeSQL) == 100)
            #expect(try QueueFixtures.count(database, outOfOrderSQL) == 0)
            #expect(try QueueFixtures.admit(database, cap: 100) == 0, "a full concert admits nobody")

            let admitters = try (0..<2).map { _ in try database.admin() }
            defer { admitters.forEach { $0.close() } }
            for connection in admitters { try QueueFixtures.apply(["queue_active_cap": "100"], to: connection) }
            for round in 1...3 {
                // 30 ACTIVE users leave through the API.
                let leaving = try admitters[0].execute(
                    "select token::text from app.queue_tickets where status = 'ACTIVE' order by random() limit 30"
                ).rows.compactMap { $0[0] }
                #expect(leaving.count == 30)
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for token in leaving {
                        group.addTask { try await server.client.send("DELETE", "/api/queue/tokens/me", token: token).status }
                    }
                    for try await status in group { #expect(status == 204) }
                }
                let admitted: [Int]
                if round < 3 {
                    // Two sessions run the admission at the same moment.
                    admitted = try await withThrowingTaskGroup(of: Int.self) { group in
                        for connection in admitters {
                            group.addTask { Int(try connection.execute("select api.queue_admit()").scalar ?? "0") ?? 0 }
                        }
                        return try await group.reduce(into: [Int]()) { $0.append($1) }
                    }
                } else {
                    // Forced overlap: the second admission starts while the
                    // first one's transaction still holds the concert. It
                    // skips the concert (SKIP LOCKED) instead of waiting, and
                    // admits nobody: the first one admits all 30.
                    try admitters[0].execute("begin")
                    let firstCount = Int(try admitters[0].execute("select api.queue_admit()").scalar ?? "0") ?? 0
                    let held = try database.scalar(
                        "select count(*) from pg_locks l join pg_class c on c.oid = l.relation "
                            + "where c.relname = 'queues' and l.mode = 'RowShareLock' and l.granted")
                    #expect(held != "0", "the first admission holds the queue row")
                    let secondCount = Int(try admitters[1].execute("select api.queue_admit()").scalar ?? "0") ?? 0
                    try admitters[0].execute("commit")
                    admitted = [firstCount, secondCount]
                    #expect(firstCount == 30)
                    #expect(secondCount == 0, "the second admission skipped the concert the first one held")
                }
                #expect(admitted.reduce(0, +) == 30, "round \(round): the two admitters admitted \(admitted)")
                #expect(try QueueFixtures.count(database, activeSQL) == 100, "round \(round)")
                #expect(try QueueFixtures.count(database, everAdmittedSQL) == 100 + 30 * round, "round \(round)")
                #expect(try QueueFixtures.count(database, outOfOrderSQL) == 0, "round \(round)")
            }
            #expect(try QueueFixtures.count(database, "select count(*) from app.queue_tickets where status = 'WAITING'") == 310)
            #expect(try Fixtures.audit(database).isEmpty)
        }
    }

    // MARK: expiry and leaving

    @Test("an ACTIVE token past its time gets 410 TOKEN_EXPIRED and its slot goes to the next in line")
    func activeTokenExpires() async throws {
        // The defaults, spelled out: the checks "while the token lives" run
        // well inside 600 s however loaded the machine; the token's time then
        // passes in the database clock (QueueFixtures.age), not in a sleep.
        let policy = ["active_token_seconds": "600", "waiting_idle_seconds": "300"]
        try await TestServer.with(settings: policy) { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let datesPath = "/api/concerts/\(concert.concertId)/dates"
            let first = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            let second = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            #expect(try QueueFixtures.admit(server.database, cap: 1, settings: policy) == 1)
            let active = try await client.get("/api/queue/tokens/me", token: first)
            #expect(active.string("status") == "ACTIVE")
            QueueFixtures.expectTicketShape(active.json)
            #expect(try QueueFixtures.ticket(server.database, first, "expires_at - activated_at = interval '600 seconds'") == "t")
            #expect(try await client.get(datesPath, token: first).status == 200)
            #expect(try QueueFixtures.admit(server.database, cap: 1, settings: policy) == 0, "the slot is taken while the token lives")
            #expect(try await client.get("/api/queue/tokens/me", token: second).int("position") == 1)

            // 601 seconds pass for the ACTIVE ticket. Before any sweep the gate
            // already refuses it.
            try QueueFixtures.age(server.database, tokens: [first], seconds: 601)
            #expect(try QueueFixtures.ticket(server.database, first, "status") == "ACTIVE")
            let expired = try await client.get(datesPath, token: first)
            #expect(expired.status == 410)
            #expect(expired.errorCode == "TOKEN_EXPIRED")
            let polled = try await client.get("/api/queue/tokens/me", token: first)
            #expect(polled.status == 410)
            #expect(polled.errorCode == "TOKEN_EXPIRED")

            #expect(try QueueFixtures.tokensExpire(server.database, settings: policy) == 1)
            #expect(try QueueFixtures.ticket(server.database, first, "status") == "EXPIRED")
            #expect(try QueueFixtures.admit(server.database, cap: 1, settings: policy) == 1)
            let next = try await client.get("/api/queue/tokens/me", token: second)
            #expect(next.string("status") == "ACTIVE")
            #expect(try await client.get(datesPath, token: second).status == 200)
        }
    }

    @Test("ACTIVE_TOKEN_SECONDS really sets the token's time: it expires that long after admission, on its own")
    func activeTokenSecondsPolicy() async throws {
        let policy = ["active_token_seconds": "3"]
        try await TestServer.with(settings: policy) { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let datesPath = "/api/concerts/\(concert.concertId)/dates"
            let first = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            let second = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            #expect(try QueueFixtures.admit(server.database, cap: 1, settings: policy) == 1)
            // The policy, read in the database rather than raced against the
            // clock (3 s can be over before a request comes back on a busy machine).
            #expect(try QueueFixtures.ticket(server.database, first, "status || ' ' || (expires_at - activated_at = interval '3 seconds')") == "ACTIVE true")

            // The time passes for real: the gate closes with no sweep and no
            // clock moved, well before the default's 600 s.
            let end = ContinuousClock.now + .seconds(30)
            var answer = try await client.get(datesPath, token: first)
            while answer.status == 200 && ContinuousClock.now < end {
                try await Task.sleep(for: .milliseconds(300))
                answer = try await client.get(datesPath, token: first)
            }
            #expect(answer.status == 410, "the token still opened the gate 30 s after its 3 s: \(answer.status) \(answer.json)")
            #expect(answer.errorCode == "TOKEN_EXPIRED")
            let polled = try await client.get("/api/queue/tokens/me", token: first)
            #expect(polled.status == 410)
            #expect(polled.errorCode == "TOKEN_EXPIRED")

            #expect(try QueueFixtures.tokensExpire(server.database, settings: policy) == 1)
            #expect(try QueueFixtures.ticket(server.database, first, "status || ' ' || (ended_at >= expires_at)") == "EXPIRED true")
            // The freed slot goes to the next in line (read in the table: its
            // 3 s may be over before a request could show it).
            #expect(try QueueFixtures.admit(server.database, cap: 1, settings: policy) == 1)
            #expect(try QueueFixtures.ticket(server.database, second, "status || ' ' || (expires_at - activated_at = interval '3 seconds')") == "ACTIVE true")
        }
    }

    @Test("a WAITING token not polled for WAITING_IDLE_SECONDS loses its place, and the one behind moves up")
    func idleWaitingTokenLosesPlace() async throws {
        // The defaults, spelled out; the time passes in the database clock
        // (QueueFixtures.age), so slow polls cannot make anyone idle.
        let policy = ["active_token_seconds": "600", "waiting_idle_seconds": "300"]
        try await TestServer.with(settings: policy) { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            // One user ACTIVE, so the three behind stay WAITING.
            let holder = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            #expect(try QueueFixtures.admit(server.database, cap: 1, settings: policy) == 1)
            let idle = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            let behind = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            let last = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            #expect(try await client.get("/api/queue/tokens/me", token: behind).int("position") == 2)
            let everyone = [holder, idle, behind, last]

            // 200 s pass; everyone but `idle` polls, which records that they
            // are still here. Nobody is idle for 300 s yet: the sweep takes nobody.
            try QueueFixtures.age(server.database, tokens: everyone, seconds: 200)
            for token in [holder, behind, last] {
                #expect(try await client.get("/api/queue/tokens/me", token: token).status == 200)
            }
            for token in [behind, last] {
                #expect(try QueueFixtures.ticket(server.database, token, "last_seen_at > now() - interval '100 seconds'") == "t", "the poll was recorded")
            }
            #expect(try QueueFixtures.tokensExpire(server.database, settings: policy) == 0)
            #expect(try QueueFixtures.ticket(server.database, idle, "status") == "WAITING")

            // 200 s more: `idle` has not been seen for 400 s, the others for 200 s.
            try QueueFixtures.age(server.database, tokens: everyone, seconds: 200)
            let lost = try await client.get("/api/queue/tokens/me", token: idle)
            #expect(lost.status == 410)
            #expect(lost.errorCode == "TOKEN_EXPIRED")

            #expect(try QueueFixtures.tokensExpire(server.database, settings: policy) == 1)
            #expect(try QueueFixtures.ticket(server.database, idle, "status") == "EXPIRED")
            let moved = try await client.get("/api/queue/tokens/me", token: behind)
            #expect(moved.status == 200)
            #expect(moved.int("position") == 1)
            #expect(try await client.get("/api/queue/tokens/me", token: last).int("position") == 2)

            // The freed slot goes to `behind`, never to the idle ticket.
            let gone = try await client.send("DELETE", "/api/queue/tokens/me", token: holder)
            #expect(gone.status == 204)
            #expect(try QueueFixtures.admit(server.database, cap: 1, settings: policy) == 1)
            #expect(try await client.get("/api/queue/tokens/me", token: behind).string("status") == "ACTIVE")
            #expect(try await client.get("/api/queue/tokens/me", token: last).int("position") == 1)
            #expect(try QueueFixtures.ticket(server.database, idle, "activated_at is null") == "t")
        }
    }

    @Test("WAITING_IDLE_SECONDS really applies: a ticket not polled for that long is refused, then swept, and the one behind moves up")
    func waitingIdleSecondsPolicy() async throws {
        // The policy's time passes for real here, by the database clock. Only
        // checks that race nothing are made across it; the ones that must
        // fall inside the window come right after the action that opens it.
        // (A ticket kept alive by polling for real is not tested this way:
        // on a loaded machine the polls themselves can come too late. The
        // rule that a poll keeps the place is idleWaitingTokenLosesPlace's.)
        let policy = ["waiting_idle_seconds": "10"]
        try await TestServer.with(settings: policy) { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let idle = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            #expect(try QueueFixtures.tokensExpire(server.database, settings: policy) == 0, "a ticket that just joined is not idle")

            // Nobody polls `idle` (a poll would keep it): wait in the database
            // until it has not been seen for WAITING_IDLE_SECONDS.
            let end = ContinuousClock.now + .seconds(30)
            var elapsed = false
            while !elapsed && ContinuousClock.now < end {
                try await Task.sleep(for: .milliseconds(250))
                elapsed = try QueueFixtures.ticket(server.database, idle, "now() - last_seen_at > interval '10 seconds'") == "t"
            }
            try #require(elapsed)
            // The server's setting: the gate refuses it before any sweep (with
            // the default 300 s it would answer 200, and record the poll).
            let lost = try await client.get("/api/queue/tokens/me", token: idle)
            #expect(lost.status == 410)
            #expect(lost.errorCode == "TOKEN_EXPIRED")
            #expect(try QueueFixtures.ticket(server.database, idle, "status") == "WAITING", "no sweep has run yet")

            // Someone joins behind; the sweep right after takes `idle` only,
            // and the one behind moves up.
            let kept = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            #expect(try QueueFixtures.tokensExpire(server.database, settings: policy) == 1)
            let moved = try await client.get("/api/queue/tokens/me", token: kept)
            #expect(moved.status == 200)
            #expect(moved.int("position") == 1)
            #expect(try QueueFixtures.ticket(server.database, idle, "status || ' ' || (ended_at - last_seen_at >= interval '10 seconds')") == "EXPIRED true")
            #expect(try QueueFixtures.ticket(server.database, kept, "status") == "WAITING")
        }
    }

    @Test("joins and polls say when to poll next in X-Poll-Interval: sooner near the front, none once ACTIVE")
    func pollInterval() async throws {
        // Two admitted a run, a run every 3 s: position p cannot be admitted
        // in less than (ceil(p / 2) - 1) * 3 s (api.queue_poll_seconds).
        try await TestServer.with(settings: ["admit_interval_seconds": "3", "queue_active_cap": "2"]) { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            var tokens: [String] = []
            for (position, seconds) in [(1, "1"), (2, "1"), (3, "3"), (4, "3"), (5, "6")] {
                let userId = try await Fixtures.user(client, name: "fan \(position)")
                let joined = try await client.post("/api/queue/tokens", ["userId": userId, "concertId": concert.concertId])
                #expect(joined.int("position") == Int64(position))
                #expect(joined.headers["x-poll-interval"] == seconds, "join at position \(position)")
                tokens.append(try #require(joined.string("token")))
                let again = try await client.post("/api/queue/tokens", ["userId": userId, "concertId": concert.concertId])
                #expect(again.status == 200)
                #expect(again.headers["x-poll-interval"] == seconds, "the same ticket again at position \(position)")
            }
            #expect(try await client.get("/api/queue/tokens/me", token: tokens[4]).headers["x-poll-interval"] == "6")
            #expect(try QueueFixtures.admit(server.database, cap: 2) == 2)
            let admitted = try await client.get("/api/queue/tokens/me", token: tokens[0])
            #expect(admitted.string("status") == "ACTIVE")
            #expect(admitted.headers["x-poll-interval"] == nil)
            let next = try await client.get("/api/queue/tokens/me", token: tokens[2])
            #expect(next.int("position") == 1)
            #expect(next.headers["x-poll-interval"] == "1")
        }
    }

    @Test("a left token gets 410, and joining again after leaving gives a new ticket at the back")
    func leftToken() async throws {
        try await TestServer.with { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let leaverId = try await Fixtures.user(client)
            let leaver = try await Fixtures.join(client, userId: leaverId, concertId: concert.concertId)
            let other = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)

            let gone = try await client.send("DELETE", "/api/queue/tokens/me", token: leaver)
            #expect(gone.status == 204)
            #expect(gone.body.isEmpty)
            for method in ["GET", "DELETE"] {
                let answer = try await client.send(method, "/api/queue/tokens/me", token: leaver)
                #expect(answer.status == 410, "\(method)")
                #expect(answer.errorCode == "TOKEN_EXPIRED", "\(method)")
            }
            #expect(try server.database.scalar("select status from app.queue_tickets where token = $1", [leaver]) == "LEFT")
            #expect(try await client.get("/api/queue/tokens/me", token: other).int("position") == 1)

            let again = try await client.post("/api/queue/tokens", ["userId": leaverId, "concertId": concert.concertId])
            #expect(again.status == 201)
            #expect(again.string("token") != leaver)
            #expect(again.int("position") == 2)
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.queue_tickets where user_id = $1", [String(leaverId)]) == 2)
        }
    }

    // MARK: the gate

    @Test("the gate: 401 for a missing, malformed or unknown token; a bare Authorization header works")
    func gateTokenHeader() async throws {
        try await TestServer.with { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let userId = try await Fixtures.user(client)
            let token = try await Fixtures.join(client, userId: userId, concertId: concert.concertId)
            try QueueFixtures.admit(server.database, cap: 10)
            let datesPath = "/api/concerts/\(concert.concertId)/dates"

            for path in ["/api/queue/tokens/me", datesPath] {
                let missing = try await client.get(path)
                #expect(missing.status == 401, "\(path)")
                #expect(missing.errorCode == "TOKEN_MISSING", "\(path)")
                let malformed = try await client.send("GET", path, headers: ["Authorization": "Bearer not-a-uuid"])
                #expect(malformed.status == 401, "\(path)")
                #expect(malformed.errorCode == "TOKEN_INVALID", "\(path)")
                let unknown = try await client.get(path, token: UUID().uuidString.lowercased())
                #expect(unknown.status == 401, "\(path)")
                #expect(unknown.errorCode == "TOKEN_INVALID", "\(path)")
                let bare = try await client.send("GET", path, headers: ["Authorization": token])
                #expect(bare.status == 200, "\(path): \(bare.json)")
            }
            let bare = try await client.send("GET", "/api/queue/tokens/me", headers: ["Authorization": token])
            #expect(bare.string("token") == token)
            #expect(bare.int("userId") == userId)
            let unknownLeave = try await client.send("DELETE", "/api/queue/tokens/me", token: UUID().uuidString)
            #expect(unknownLeave.status == 401)
            #expect(unknownLeave.errorCode == "TOKEN_INVALID")
        }
    }

    @Test("the gate: 403 QUEUE_WAITING before admission, TOKEN_FORBIDDEN for another concert or another user's userId")
    func gateForbidden() async throws {
        try await TestServer.with { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let otherConcert = try Fixtures.concert(server.database, dates: 1)
            let activeUser = try await Fixtures.user(client)
            let active = try await Fixtures.join(client, userId: activeUser, concertId: concert.concertId)
            let elsewhere = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: otherConcert.concertId)
            #expect(try QueueFixtures.admit(server.database, cap: 1) == 2)
            let waitingUser = try await Fixtures.user(client)
            let waiting = try await Fixtures.join(client, userId: waitingUser, concertId: concert.concertId)
            let dateId = concert.dateIds[0]
            let datesPath = "/api/concerts/\(concert.concertId)/dates"
            let seatsPath = "\(datesPath)/\(dateId)/seats"

            for path in [datesPath, seatsPath] {
                let early = try await client.get(path, token: waiting)
                #expect(early.status == 403, "\(path)")
                #expect(early.errorCode == "QUEUE_WAITING", "\(path)")
                let foreign = try await client.get(path, token: elsewhere)
                #expect(foreign.status == 403, "\(path)")
                #expect(foreign.errorCode == "TOKEN_FORBIDDEN", "\(path)")
                #expect(try await client.get(path, token: active).status == 200, "\(path)")
            }
            #expect(try await client.get("/api/queue/tokens/me", token: waiting).status == 200, "any live token may poll")

            let seat: [String: Any] = ["concertId": concert.concertId, "dateId": dateId, "seatNo": 1]
            let foreignHold = try await client.post("/api/reservations", seat, token: elsewhere)
            #expect(foreignHold.status == 403)
            #expect(foreignHold.errorCode == "TOKEN_FORBIDDEN")
            let waitingHold = try await client.post("/api/reservations", seat, token: waiting)
            #expect(waitingHold.status == 403)
            #expect(waitingHold.errorCode == "QUEUE_WAITING")
            let impostor = try await client.post("/api/reservations", seat.merging(["userId": waitingUser]) { _, new in new }, token: active)
            #expect(impostor.status == 403)
            #expect(impostor.errorCode == "TOKEN_FORBIDDEN")
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.reservations") == 0)
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.seats where status <> 'FREE'") == 0)

            // The token's own userId is accepted.
            let own = try await client.post("/api/reservations", seat.merging(["userId": activeUser]) { _, new in new }, token: active)
            #expect(own.status == 201)
            #expect(own.int("userId") == activeUser)
        }
    }

    // MARK: joining with bad input

    @Test("joining with an unknown user or concert is 404 and creates nothing")
    func joinUnknown() async throws {
        try await TestServer.with { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let userId = try await Fixtures.user(client)
            let noUser = try await client.post("/api/queue/tokens", ["userId": userId + 1000, "concertId": concert.concertId])
            #expect(noUser.status == 404)
            #expect(noUser.errorCode == "USER_NOT_FOUND")
            let noConcert = try await client.post("/api/queue/tokens", ["userId": userId, "concertId": concert.concertId + 1000])
            #expect(noConcert.status == 404)
            #expect(noConcert.errorCode == "CONCERT_NOT_FOUND")
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.queue_tickets") == 0)
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.queues") == 1)
        }
    }

    @Test("joining with a malformed body is 400 BAD_REQUEST and creates no ticket", arguments: [
        #"{"userId": U, "concertId": C"#, #"not json"#, "", #"[]"#, #"{}"#, #"{"userId": U}"#, #"{"concertId": C}"#,
        #"{"userId": "U", "concertId": C}"#, #"{"userId": U, "concertId": "C"}"#, #"{"userId": U.5, "concertId": C}"#,
        #"{"userId": null, "concertId": C}"#, #"{"userId": true, "concertId": C}"#, #"{"userId": U, "concertId": 99999999999999999999}"#,
    ])
    func joinMalformed(body: String) async throws {
        try await TestServer.with { server in
            let concert = try Fixtures.concert(server.database, dates: 1)
            let userId = try await Fixtures.user(server.client)
            let text = body.replacingOccurrences(of: "U", with: String(userId)).replacingOccurrences(of: "C", with: String(concert.concertId))
            let answer = try await server.client.send("POST", "/api/queue/tokens", raw: Data(text.utf8))
            #expect(answer.status == 400, "\(text): \(answer.json)")
            #expect(answer.errorCode == "BAD_REQUEST")
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.queue_tickets") == 0)
        }
    }

    // MARK: the event stream

    @Test("the event stream sends the ticket first, then an ACTIVE ticket soon after admission")
    func eventStream() async throws {
        try await TestServer.with { server in
            let concert = try Fixtures.concert(server.database, dates: 1)
            let token = try await Fixtures.join(server.client, userId: try await Fixtures.user(server.client), concertId: concert.concertId)
            let stream = try await QueueFixtures.EventStream(port: server.port, token: token)
            defer { stream.close() }
            #expect(stream.status == 200)
            #expect(stream.headers["content-type"]?.hasPrefix("text/event-stream") == true)

            let first = try #require(try await stream.next(within: .seconds(20)), "no first event")
            #expect(first.name == "ticket")
            #expect(first.json["token"] as? String == token)
            #expect(first.json["status"] as? String == "WAITING")
            QueueFixtures.expectTicketShape(first.json)

            #expect(try QueueFixtures.admit(server.database, cap: 10) == 1)
            let admitted = try await stream.next("ticket", within: .seconds(20)) { $0["status"] as? String == "ACTIVE" }
            let ticket = try #require(admitted, "no ACTIVE ticket event within 20 s of the admission").json
            #expect(ticket["token"] as? String == token)
            QueueFixtures.expectTicketShape(ticket)
        }
    }

    @Test("the event stream answers an unknown or missing token with a JSON 401 before any stream")
    func eventStreamUnknownToken() async throws {
        try await TestServer.with { server in
            let unknown = try await server.client.get("/api/queue/tokens/me/events", token: UUID().uuidString)
            #expect(unknown.status == 401)
            #expect(unknown.errorCode == "TOKEN_INVALID")
            #expect(unknown.headers["content-type"] == "application/json")
            let missing = try await server.client.get("/api/queue/tokens/me/events")
            #expect(missing.status == 401)
            #expect(missing.errorCode == "TOKEN_MISSING")
            // a scheme with no credential is a missing token, not a wrong one
            let schemeOnly = try await server.client.get("/api/queue/tokens/me", headers: ["Authorization": "Bearer"])
            #expect(schemeOnly.status == 401 && schemeOnly.errorCode == "TOKEN_MISSING", "\(schemeOnly.json)")
            let bearerish = try await server.client.get("/api/queue/tokens/me", headers: ["Authorization": "Bearerx"])
            #expect(bearerish.status == 401 && bearerish.errorCode == "TOKEN_INVALID", "\(bearerish.json)")

            // The same over a raw connection: a complete JSON answer, no event.
            let stream = try await QueueFixtures.EventStream(port: server.port, token: UUID().uuidString)
            defer { stream.close() }
            #expect(stream.status == 401)
            #expect(stream.headers["content-type"] == "application/json")
        }
    }
}
