import Foundation
import Testing

@testable import BoxOffice

/// docs/grafana/onsale.json is built on series that exist: a scripted
/// on-sale against a real `boxoffice serve` (scheduler on) moves every series
/// the dashboard's expressions name, as /metrics shows them before, during
/// and after.
@Suite("The on-sale dashboard's series")
struct OnsaleDashboardTests {
    /// The metric names in every `expr` and template `query` of the dashboard.
    static func dashboardSeries() throws -> Set<String> {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.root + "/docs/grafana/onsale.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var expressions: [String] = []
        for panel in dashboard["panels"] as? [[String: Any]] ?? [] {
            expressions += (panel["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        }
        let templates = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        expressions += templates.compactMap { $0["query"] as? String }
        return Set(expressions.flatMap { $0.matches(of: /\b((?:boxoffice|hb)_[a-z_]+)\b/).map { String($0.1) } })
    }

    /// The sum of each metric's samples in a /metrics text (a name without a sample is absent).
    static func scrape(_ client: HTTPTestClient) async throws -> [String: Double] {
        let answer = try await client.get("/metrics")
        #expect(answer.status == 200)
        var sums: [String: Double] = [:]
        for line in String(decoding: answer.body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let name = String(line[..<space].prefix { $0 != "{" && $0 != " " })
            sums[name, default: 0] += value
        }
        return sums
    }

    @Test("every series docs/grafana/onsale.json uses exists and moves during a scripted on-sale")
    func dashboardSeriesMove() async throws {
        let series = try Self.dashboardSeries()
        #expect(series.count >= 12, "\(series.sorted())")
        let database = try await TestDatabase.create()
        let serve = try await ServeProcess(database: database, instance: "dash", environment: ["QUEUE_ACTIVE_CAP": "2"])
        defer { serve.stop() }
        let client = serve.client
        let concert = try Fixtures.concert(database, dates: 1)
        let id = String(concert.concertId)
        // a job that always fails, so that failures move
        _ = try database.scalar("select api.job_schedule('always_fails', '1 seconds', 'select 1/0')")

        var scrapes = [try await Self.scrape(client)]

        // the pre-queue: the sale opens in an hour, five fans join before it
        _ = try database.scalar("select api.sale_schedule($1::bigint, now() + interval '1 hour') is not null", [id])
        var fans: [(userId: Int64, token: String)] = []
        for _ in 0..<5 {
            let userId = try await Fixtures.user(client)
            fans.append((userId, try await Fixtures.join(client, userId: userId, concertId: concert.concertId)))
        }
        scrapes.append(try await Self.scrape(client))

        // the opening moves to now: the scheduler opens the sale and admits the cap, 2
        _ = try database.scalar("select api.sale_schedule($1::bigint, now()) is not null", [id])
        var active: [(userId: Int64, token: String)] = []
        for _ in 0..<100 where active.count < 2 {
            try await Task.sleep(for: .milliseconds(200))
            active = []
            for fan in fans where try await client.get("/api/queue/tokens/me", token: fan.token).string("status") == "ACTIVE" {
                active.append(fan)
            }
        }
        #expect(active.count == 2)
        let buyer = try #require(active.first)
        try await Fixtures.charge(client, token: buyer.token, amount: 1_000_000)
        let dateId = concert.dateIds[0]
        let held = try await client.post("/api/reservations", ["concertId": concert.concertId, "dateId": dateId, "seatNo": 1], token: buyer.token)
        let kept = try await client.post("/api/reservations", ["concertId": concert.concertId, "dateId": dateId, "seatNo": 2], token: buyer.token)
        #expect(held.status == 201 && kept.status == 201)

        // a payment that must retry: its balance row is locked by another
        // transaction that commits an update while the payment waits (40001)
        let locker = try database.admin()
        defer { locker.close() }
        try locker.run(script: "begin")
        try locker.execute("update app.users set balance = balance where user_id = $1::bigint", [String(buyer.userId)])
        async let payment = client.post("/api/payments", ["reservationId": try #require(held.int("reservationId"))], token: buyer.token)
        var waited = false
        for _ in 0..<50 where !waited {
            try await Task.sleep(for: .milliseconds(100))
            waited = try database.scalar("""
                select count(*) > 0 from pg_stat_activity
                where datname = current_database() and wait_event_type = 'Lock' and query like '%payment%'
                """) == "t"
        }
        try locker.run(script: "commit")
        #expect(waited, "the payment waited for the locked balance row")
        #expect(try await payment.status == 201)

        _ = try await client.get("/api/no-such-route")  // an error answer
        _ = try database.scalar("select api.sale_pause($1::bigint) is not null", [id])
        // moved: two different values, or absent before and not zero after
        func unmoved(_ scrapes: [[String: Double]]) -> [String] {
            series.sorted().filter { name in
                let values = scrapes.map { $0[name] }
                let distinct = Set(values.compactMap { $0 })
                return !(distinct.count >= 2 || (values.first! == nil && (values.last! ?? 0) != 0))
            }
        }
        // the jobs (the failing one included) run on the scheduler's time: scrape until all moved, at most 30 s
        var after = try await Self.scrape(client)
        for _ in 0..<60 where !unmoved(scrapes + [after]).isEmpty {
            try await Task.sleep(for: .milliseconds(500))
            after = try await Self.scrape(client)
        }
        scrapes.append(after)
        for name in series.sorted() {
            #expect(after[name] != nil, "\(name) is not on /metrics after the on-sale")
        }
        for name in unmoved(scrapes) {
            Issue.record("\(name) did not move: before, during, after = \(scrapes.map { $0[name] })")
        }
        // errors are answers of 400 and up only: the 404 above, never a success
        let text = String(decoding: try await client.get("/metrics").body, as: UTF8.self)
        let errorLines = text.split(separator: "\n").filter { $0.hasPrefix("hb_request_errors{") }
        #expect(errorLines.contains { $0.contains(#"error_type="404""#) }, "\(errorLines)")
        #expect(!errorLines.contains { $0.contains(#"error_type="2"#) }, "successes counted as errors: \(errorLines)")
        // the payment's retries are counted under its concert
        let retryLines = text.split(separator: "\n").filter { $0.hasPrefix("boxoffice_payment_retries_total{") }
        #expect(retryLines.contains { $0.contains("concert=\"\(id)\"") }, "\(retryLines)")
        #expect(try Fixtures.audit(database) == [])
    }
}
