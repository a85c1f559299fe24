import Foundation
import Testing

@testable import BoxOffice

/// The pool's lanes seen from HTTP: each route's database call waits in the
/// lane its route names (Routes.Route.lane), through the real server.
@Suite("The pool's lanes over HTTP")
struct LaneHTTPTests {
    @Test("with the only connection busy, a poll waits in line, a join in standard and a balance read in purchase; all are answered")
    func routesWaitInTheirLanes() async throws {
        let timeouts = Database.Timeouts(statementSeconds: 60, lockSeconds: 60, idleInTransactionSeconds: 60)
        try await TestServer.with(poolSize: 1, timeouts: timeouts) { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let charger = try await Fixtures.user(client, name: "charger")
            let chargerToken = try await Fixtures.join(client, userId: charger, concertId: concert.concertId)
            let poller = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            let reader = try await Fixtures.join(client, userId: try await Fixtures.user(client), concertId: concert.concertId)
            let joiner = try await Fixtures.user(client, name: "joiner")

            // The pool's one connection: a charge waiting for the row lock
            // another session holds on its user.
            let holder = try server.database.admin()
            defer { holder.close() }
            _ = try holder.execute("begin")
            _ = try holder.execute("select 1 from app.users where user_id = $1 for update", [String(charger)])
            let charge = Task { try await client.post("/api/balance/charge", ["amount": 1000], token: chargerToken) }
            let blocked = try await JobProbe.waitUntil(seconds: 30) {
                try server.database.scalar("""
                    select count(*) from pg_locks l join pg_stat_activity a on a.pid = l.pid
                    where not l.granted and a.usename = 'boxoffice_api' and a.datname = current_database()
                    """) == "1"
            }
            try #require(blocked, "the charge never waited for the row lock")

            let poll = Task { try await client.get("/api/queue/tokens/me", token: poller) }
            let join = Task { try await client.post("/api/queue/tokens", ["userId": joiner, "concertId": concert.concertId]) }
            let read = Task { try await client.get("/api/balance", token: reader) }
            let queued = try await JobProbe.waitUntil(seconds: 30) { server.pool.waiting == [1, 1, 1] }
            #expect(queued, "lanes (purchase, line, standard) held \(server.pool.waiting), not one caller each")

            _ = try holder.execute("commit")
            #expect(try await charge.value.status == 200)
            #expect(try await read.value.status == 200)
            #expect(try await poll.value.status == 200)
            #expect(try await join.value.status == 201)
        }
    }
}
