import Foundation
import Testing

@testable import BoxOffice

/// A scheduled opening over HTTP, across two instances on one database.
extension MultiInstanceTests {
    @Test("a scheduled opening across two instances: the pre-queue has no positions, then goes first; later joins follow; positions exact on both")
    func scheduledOpening() async throws {
        try await withTwoInstances { database, clients in
            let concert = try Fixtures.concert(database)
            let id = String(concert.concertId)
            #expect(try database.scalar("select api.sale_schedule($1::bigint, now() + interval '1 hour') ->> 'state'", [id]) == "SCHEDULED")
            let listed = try await clients[1].get("/api/concerts")
            let entry = (listed.json["concerts"] as? [[String: Any]])?.first { ($0["concertId"] as? NSNumber)?.int64Value == concert.concertId }
            #expect(entry?["saleOpensAt"] is String, "GET /api/concerts shows saleOpensAt: \(listed.json)")

            // 40 fans join at once through both instances before the opening
            let users = try Fixtures.users(database, count: 41)
            let joins = try await PaymentFixtures.atOnce(40) { index in
                try await clients[index % 2].post("/api/queue/tokens", ["userId": users[index], "concertId": concert.concertId])
            }
            #expect(joins.allSatisfy { $0.status == 201 }, "\(joins.map(\.status))")
            #expect(joins.allSatisfy { $0.json["position"] is NSNull && $0.json["estimatedWaitSeconds"] is NSNull })
            #expect(joins.allSatisfy { $0.string("saleOpensAt") == entry?["saleOpensAt"] as? String })
            joins.forEach { QueueFixtures.expectTicketShape($0.json) }
            #expect(try Fixtures.admit(database, cap: 10) == 0, "the admission run before the opening admits nobody")
            #expect(try database.scalar("select count(*) from app.queue_tickets where concert_id = $1::bigint and status = 'ACTIVE'", [id]) == "0",
                "nobody is admitted before the opening")

            // the opening time passes; the next admission run opens the sale
            _ = try database.scalar("select api.sale_schedule($1::bigint, now() - interval '1 second') is not null", [id])
            #expect(try QueueFixtures.admit(database, cap: 10) == 10)
            let late = try await clients[0].post("/api/queue/tokens", ["userId": users[40], "concertId": concert.concertId])
            #expect(late.status == 201 && late.int("position") == 31, "the first join after the opening is behind the 30 still waiting: \(late.json)")

            // every waiting fan's position, polled on either instance, is its place
            let order = try #require(try database.scalar("""
                select string_agg(token::text, ',' order by queue_no) from app.queue_tickets
                where concert_id = $1::bigint and status = 'WAITING'
                """, [id])).split(separator: ",").map(String.init)
            #expect(order.count == 31)
            for (index, token) in order.enumerated() {
                let ticket = try await clients[index % 2].get("/api/queue/tokens/me", token: token)
                #expect(ticket.int("position") == Int64(index + 1), "\(ticket.json)")
                QueueFixtures.expectTicketShape(ticket.json)
            }
            #expect(order.last == late.string("token"))
            #expect(try Fixtures.audit(database) == [])
        }
    }
}

/// The opening passing while fans join and poll through two instances whose
/// schedulers run admission, with one join held in flight across it: nothing
/// fails, the opening waits for the held join, the pre-queue (the held join
/// included) goes first, and the line stays exact.
@Suite("A scheduled opening with two schedulers", .serialized)
struct SaleOpeningLiveTests {
    @Test("joins and polls through two instances while the opening passes, one join held in flight across it: no error, the opening waits for it, the early ones first, positions exact, audit clean")
    func openingUnderLoad() async throws {
        let database = try await TestDatabase.create()
        let settings = ["QUEUE_ACTIVE_CAP": "20", "ADMIT_INTERVAL_SECONDS": "1"]
        let first = try await ServeProcess(database: database, instance: "one", environment: settings)
        defer { first.stop() }
        let second = try await ServeProcess(database: database, instance: "two", environment: settings)
        defer { second.stop() }
        let clients = [first.client, second.client]
        let concert = try Fixtures.concert(database)
        let id = String(concert.concertId)
        let users = try Fixtures.users(database, count: 120)
        let heldUser = try #require(try Fixtures.users(database, count: 1).first)
        _ = try database.scalar("select api.sale_schedule($1::bigint, clock_timestamp() + interval '1 hour') is not null", [id])

        // A join held in flight across the opening: a session of the test
        // joins in a transaction it keeps open until after the opening time,
        // holding the join's mark and its number (the advisory locks
        // app.queue_line_close reads), as a join stalled between drawing its
        // number and committing does.
        let holder = try database.admin()
        defer { holder.close() }
        let holderPid = try #require(try holder.execute("select pg_backend_pid()").scalar)
        // the held join's advisory locks: its mark, and the one naming its number
        let heldLocks = """
            select count(*) filter (where classid = 1114793 and objid = 1 and objsubid = 2)
                   || ' ' || count(*) filter (where classid >= 1114794 and objsubid = 1)
            from pg_locks
            where locktype = 'advisory' and granted and pid = $1::integer
              and database = (select oid from pg_database where datname = current_database())
            """

        // 120 joins over about 4 s, alternating instances, while every
        // ticket already made is polled through the other instance. The
        // opening is brought forward to a second ahead once 40 have joined,
        // not set for a fixed time at the start: on a busy machine the first
        // join came after such an opening, and nobody was early. The 80 joins
        // after it are 30 ms apart, 2.4 s in all: some come after the opening.
        let tokens = TokenBox()
        let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
            group.addTask {
                var seen: [Int] = []
                for (index, userId) in users.enumerated() {
                    if index == 40 {
                        try holder.execute("begin")
                        try holder.execute("select api.queue_join($1::bigint, $2::bigint)", [String(heldUser), id])
                        _ = try database.scalar(
                            "select api.sale_schedule($1::bigint, clock_timestamp() + interval '1 second') is not null", [id])
                    }
                    let answer = try await clients[index % 2].post("/api/queue/tokens", ["userId": userId, "concertId": concert.concertId])
                    seen.append(answer.status)
                    if let token = answer.string("token") { tokens.add(token) }
                    try await Task.sleep(for: .milliseconds(30))
                }
                tokens.finish()
                return seen
            }
            group.addTask {
                var seen: [Int] = []
                var round = 0
                while !tokens.finished {
                    round += 1
                    for token in tokens.all.suffix(10) {
                        seen.append(try await clients[round % 2].get("/api/queue/tokens/me", token: token).status)
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return seen
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 201 }, "\(Dictionary(grouping: statuses) { $0 }.mapValues(\.count))")

        // The held join is in flight: its ticket, seen by its own session,
        // and its locks, seen by everyone.
        let heldNumber = try #require(try holder.execute(
            "select queue_no from app.queue_tickets where user_id = $1::bigint", [String(heldUser)]).scalar)
        #expect(try database.scalar(heldLocks, [holderPid]) == "1 1", "the held join holds its mark and its number")
        // A scheduler's run after the opening time sets the cut (past the
        // held join's number); the runs after it must not open the sale
        // while the held join is in flight. Two succeeded runs that started
        // after the cut was seen, each of which would have opened it.
        try await PaymentFixtures.waitUntil(database,
            "select sale_cut is not null from app.concerts where concert_id = $1::bigint", [id], seconds: 60)
        let cutSeen = try #require(try database.scalar("select clock_timestamp()::text"))
        try await PaymentFixtures.waitUntil(database, """
            select count(*) >= 2 from app.job_runs r join app.jobs j on j.job_id = r.job_id
            where j.name = 'queue_admit' and r.status = 'succeeded' and r.started_at > $1::timestamptz
            """, [cutSeen], seconds: 60)
        #expect(try database.scalar("""
            select (c.sale_cut > $2::bigint)::text || ' ' || (c.sale_opened_at is null)::text || ' '
                   || (select count(*) from app.queue_tickets t where t.concert_id = c.concert_id and t.status = 'ACTIVE')
            from app.concerts c where c.concert_id = $1::bigint
            """, [id, heldNumber]) == "true true 0",
            "the cut is past the held join's number, and the opening waits for it: not opened, nobody admitted")
        #expect(try database.scalar(heldLocks, [holderPid]) == "1 1", "the held join was still in flight while those runs passed")
        try holder.execute("commit")

        // the schedulers open the sale and admit the cap
        try await PaymentFixtures.waitUntil(database, """
            select c.sale_opened_at is not null
              and (select count(*) from app.queue_tickets t where t.concert_id = c.concert_id and t.status = 'ACTIVE') = 20
            from app.concerts c where c.concert_id = $1::bigint
            """, [id], seconds: 60)

        // The held join drew its number before the opening time, so it is in
        // the pre-queue: among the first sale_prequeued places, ahead of
        // every join after the opening time, however late it committed.
        #expect(try database.scalar("""
            select (h.joined_at < c.sale_opens_at)::text || ' '
                   || ((select count(*) from app.queue_tickets t where t.concert_id = h.concert_id and t.queue_no <= h.queue_no)
                       <= c.sale_prequeued)::text
            from app.queue_tickets h join app.concerts c on c.concert_id = h.concert_id
            where h.user_id = $1::bigint and h.concert_id = $2::bigint
            """, [String(heldUser), id]) == "true true", "the held join is in the pre-queue")

        // early = drew its number before the opening: all of them are ahead of every later join
        let order = try database.scalar("""
            select count(*) filter (where e.queue_no > l.first_late)
            from app.queue_tickets e
            join app.concerts c on c.concert_id = e.concert_id
            cross join (select min(t.queue_no) as first_late from app.queue_tickets t join app.concerts c2 on c2.concert_id = t.concert_id
                        where t.concert_id = $1::bigint and t.joined_at >= c2.sale_opens_at) l
            where e.concert_id = $1::bigint and e.joined_at < c.sale_opens_at
            """, [id])
        #expect(order == "0", "early joins behind a later one: \(order ?? "-")")
        let counts = try #require(try database.scalar("""
            select c.sale_prequeued || ' ' || count(*) filter (where t.joined_at < c.sale_opens_at)
                   || ' ' || count(*) filter (where t.joined_at >= c.sale_opens_at)
            from app.concerts c join app.queue_tickets t on t.concert_id = c.concert_id
            where c.concert_id = $1::bigint group by c.sale_prequeued
            """, [id])).split(separator: " ").compactMap { Int($0) }
        #expect(counts.count == 3 && counts[0] == counts[1] && counts[1] > 0 && counts[2] > 0,
            "pre-queued, joined before, joined after the opening: \(counts)")
        #expect(try database.scalar("""
            select count(*) from app.queue_tickets a
            join app.queue_tickets w on w.concert_id = a.concert_id and w.status = 'WAITING' and w.queue_no < a.queue_no
            where a.concert_id = $1::bigint and a.activated_at is not null
            """, [id]) == "0", "nobody admitted while an earlier ticket waits")

        // every waiting ticket's position, through either instance, is its place
        let waiting = try #require(try database.scalar("""
            select string_agg(token::text, ',' order by queue_no) from app.queue_tickets
            where concert_id = $1::bigint and status = 'WAITING'
            """, [id])).split(separator: ",").map(String.init)
        try await Task.sleep(for: .seconds(1))  // no admission in between: the cap is full and nobody leaves
        for (index, token) in waiting.enumerated() {
            let ticket = try await clients[index % 2].get("/api/queue/tokens/me", token: token)
            #expect(ticket.int("position") == Int64(index + 1), "\(ticket.json)")
        }
        #expect(try Fixtures.audit(database) == [])
        #expect(await first.stopped() == 0)
        #expect(await second.stopped() == 0)
    }
}

/// The tokens the joining task has made, for the polling task.
final class TokenBox: @unchecked Sendable {
    private let lock = NSLock()
    private var tokens: [String] = []
    private var done = false
    func add(_ token: String) { lock.withLock { tokens.append(token) } }
    func finish() { lock.withLock { done = true } }
    var all: [String] { lock.withLock { tokens } }
    var finished: Bool { lock.withLock { done } }
}
