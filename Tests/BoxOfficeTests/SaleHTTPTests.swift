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
/// schedulers run admission, with two joins held in flight across it (one
/// that drew its number before the opening time, one after it but before
/// the opening was done): nothing fails, the opening waits for both, the
/// pre-queue (the first held join included) goes first, the second held
/// join right behind it, and the line stays exact.
@Suite("A scheduled opening with two schedulers", .serialized)
struct SaleOpeningLiveTests {
    @Test("joins and polls through two instances while the opening passes, two joins held in flight across it: no error, the opening waits for them, the early ones first, positions exact, audit clean")
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
        let heldUsers = try Fixtures.users(database, count: 2)
        _ = try database.scalar("select api.sale_schedule($1::bigint, clock_timestamp() + interval '1 hour') is not null", [id])
        // The gate: a session of the test holding the concert's app.queues
        // row, which admission claims with SKIP LOCKED, so that no run sets
        // the opening's cut until the test has started the late held join.
        let gate = try database.admin()
        defer { gate.close() }
        let early = HeldJoinBox()
        defer { early.join?.close() }

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
                        try gate.execute("begin")
                        try gate.execute("select from app.queues where concert_id = $1::bigint for no key update", [id])
                        early.join = try HeldJoin(database, userId: heldUsers[0], concertId: id)
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

        // The opening time has passed (the database's clock), the gate still
        // holds admission off the concert: the late held join draws its
        // number now, after the opening time and before the cut.
        try await PaymentFixtures.waitUntil(database,
            "select clock_timestamp() > sale_opens_at from app.concerts where concert_id = $1::bigint", [id], seconds: 60)
        let earlyJoin = try #require(early.join)
        let lateJoin = try HeldJoin(database, userId: heldUsers[1], concertId: id)
        defer { lateJoin.close() }
        #expect(try earlyJoin.ticket("(t.joined_at < c.sale_opens_at)::text") == "true", "the early held join drew its number before the opening time")
        #expect(try lateJoin.ticket("(t.joined_at >= c.sale_opens_at)::text || ' ' || (c.sale_cut is null)::text") == "true true",
            "the late held join drew its number after the opening time, before any run set the cut")
        for held in [earlyJoin, lateJoin] {
            #expect(try held.locks() == "1 1", "a held join holds its mark and the lock naming its number")
        }
        try gate.execute("commit")

        // A scheduler's run sets the cut (past both held numbers); the runs
        // after it must not open the sale while they are in flight. Two
        // succeeded runs that started after the cut was seen, each of which
        // would have opened it.
        try await PaymentFixtures.waitUntil(database,
            "select sale_cut is not null from app.concerts where concert_id = $1::bigint", [id], seconds: 60)
        let cutSeen = try #require(try database.scalar("select clock_timestamp()::text"))
        try await PaymentFixtures.waitUntil(database, """
            select count(*) >= 2 from app.job_runs r join app.jobs j on j.job_id = r.job_id
            where j.name = 'queue_admit' and r.status = 'succeeded' and r.started_at > $1::timestamptz
            """, [cutSeen], seconds: 60)
        for held in [earlyJoin, lateJoin] {
            #expect(try held.ticket("""
                (c.sale_cut > t.queue_no)::text || ' ' || (c.sale_opened_at is null)::text || ' '
                || (select count(*) from app.queue_tickets a where a.concert_id = c.concert_id and a.status = 'ACTIVE')
                """) == "true true 0",
                "the cut is past the held join's number, and the opening waits for it: not opened, nobody admitted")
            #expect(try held.locks() == "1 1", "the held join was still in flight while those runs passed")
        }
        try lateJoin.commit()
        try earlyJoin.commit()

        // the schedulers open the sale and admit the cap
        try await PaymentFixtures.waitUntil(database, """
            select c.sale_opened_at is not null
              and (select count(*) from app.queue_tickets t where t.concert_id = c.concert_id and t.status = 'ACTIVE') = 20
            from app.concerts c where c.concert_id = $1::bigint
            """, [id], seconds: 60)

        // However late they committed: the early held join is in the
        // pre-queue (among the first sale_prequeued places); the late one is
        // behind all of it, and keeps a number below the cut, ahead of every
        // join that drew its number after the cut was read.
        let place = """
            select (select count(*) from app.queue_tickets t where t.concert_id = h.concert_id and t.queue_no <= h.queue_no)
                   || ' ' || c.sale_prequeued || ' ' || (h.queue_no < c.sale_cut)::text
            from app.queue_tickets h join app.concerts c on c.concert_id = h.concert_id
            where h.user_id = $1::bigint and h.concert_id = $2::bigint
            """
        let earlyPlace = try #require(try database.scalar(place, [String(heldUsers[0]), id])).split(separator: " ")
        let latePlace = try #require(try database.scalar(place, [String(heldUsers[1]), id])).split(separator: " ")
        #expect(earlyPlace.count == 3 && Int(earlyPlace[0])! <= Int(earlyPlace[1])!, "the early held join is in the pre-queue: \(earlyPlace)")
        #expect(latePlace.count == 3 && Int(latePlace[0])! > Int(latePlace[1])! && latePlace[2] == "true",
            "the late held join is after the pre-queue, below the cut: \(latePlace)")

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

/// A join a session of the test keeps in flight: begun and its number drawn
/// (`api.queue_join`), not committed until `commit()`, so it holds the join's
/// mark and the lock naming its number (the advisory locks
/// app.queue_line_close reads in pg_locks), as a join stalled between
/// drawing its number and committing does.
final class HeldJoin: Sendable {
    let database: TestDatabase
    let connection: Connection
    let pid: String
    let userId: Int64

    init(_ database: TestDatabase, userId: Int64, concertId: String) throws {
        self.database = database
        connection = try database.admin()
        pid = try connection.execute("select pg_backend_pid()").scalar ?? ""
        self.userId = userId
        try connection.execute("begin")
        try connection.execute("select api.queue_join($1::bigint, $2::bigint)", [String(userId), concertId])
    }

    /// `expression` over its ticket `t` and concert `c`, read in its own
    /// session (the ticket is not committed yet).
    func ticket(_ expression: String) throws -> String? {
        try connection.execute("""
            select \(expression) from app.queue_tickets t join app.concerts c on c.concert_id = t.concert_id
            where t.user_id = $1::bigint and t.status = 'WAITING'
            """, [String(userId)]).scalar
    }

    /// "1 1" while it holds the mark and the lock naming its number, as
    /// another session sees pg_locks.
    func locks() throws -> String? {
        try database.scalar("""
            select count(*) filter (where classid = 1114793 and objid = 1 and objsubid = 2)
                   || ' ' || count(*) filter (where classid >= 1114794 and objsubid = 1)
            from pg_locks
            where locktype = 'advisory' and granted and pid = $1::integer
              and database = (select oid from pg_database where datname = current_database())
            """, [pid])
    }

    func commit() throws { try connection.execute("commit") }
    func close() { connection.close() }
}

/// The early held join, made inside the joining task.
final class HeldJoinBox: @unchecked Sendable {
    private let lock = NSLock()
    private var held: HeldJoin?
    var join: HeldJoin? {
        get { lock.withLock { held } }
        set { lock.withLock { held = newValue } }
    }
}
