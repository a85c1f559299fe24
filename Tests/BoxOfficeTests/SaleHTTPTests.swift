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
