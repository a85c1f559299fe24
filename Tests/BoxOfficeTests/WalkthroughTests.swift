import Foundation
import Testing

@testable import BoxOffice

/// The README's walkthrough stays true: scripts/walkthrough is the README's
/// block word for word, and it runs twice against a real `boxoffice serve`
/// with user keys required (its scheduler admitting the fans) over the demo
/// data, each run buying a seat of its own.
@Suite("The README's walkthrough")
struct WalkthroughTests {
    static let script = TestPaths.root + "/scripts/walkthrough"

    /// The lines between the script's two marker lines.
    static func block() throws -> String {
        let text = try String(contentsOfFile: script, encoding: .utf8)
        let begin = try #require(text.range(of: "# walkthrough:begin\n"))
        let end = try #require(text.range(of: "# walkthrough:end\n"))
        return String(text[begin.upperBound..<end.lowerBound])
    }

    @Test("the README shows scripts/walkthrough's block as it is")
    func readmeShowsTheScript() throws {
        let readme = try String(contentsOfFile: TestPaths.root + "/README.md", encoding: .utf8)
        let block = try Self.block()
        #expect(block.split(separator: "\n").count > 10)
        #expect(readme.contains(block), "README.md's walkthrough differs from scripts/walkthrough")
    }

    @Test("pasted twice against a running server, it sells two different seats")
    func runsTwice() async throws {
        let database = try await TestDatabase.create()
        let seed = try await ProcessRun.run(
            [TestPaths.binary, "seed", "--demo"],
            environment: ProcessInfo.processInfo.environment.merging([
                "DATABASE_URL": database.adminConninfo, "MIGRATE_DATABASE_URL": "", "BOXOFFICE_SQL_DIR": TestPaths.sql,
            ]) { _, new in new })
        #expect(seed.status == 0, "\(seed.output)")
        // Keys as a real deployment has them (the suite's servers default to
        // optional): the walkthrough's join must present the new fan's key.
        let serve = try await ServeProcess(database: database, instance: "walkthrough", environment: ["USER_KEYS": "required"])
        defer { serve.stop() }
        let client = serve.client
        let concertId = try #require(((try await client.get("/api/concerts")).json["concerts"] as? [[String: Any]])?
            .first?["concertId"] as? NSNumber).int64Value
        let keyless = try await client.post("/api/queue/tokens", ["userId": 1, "concertId": concertId])
        #expect(keyless.status == 401 && keyless.errorCode == "API_KEY_MISSING", "keys are required: \(keyless.json)")

        // The seed shows a demo user's API key, and it joins as that user.
        let shown = try #require(seed.output.firstMatch(of: /user (\d+)'s API key [^:]*: (bo_[0-9a-f]{64})\n/),
                                 "the seed shows no demo user's key:\n\(seed.output)")
        let demoUser = try #require(Int64(shown.1))
        let joined = try await client.post("/api/queue/tokens", ["userId": demoUser, "concertId": concertId], token: String(shown.2))
        #expect(joined.status == 201 && joined.int("userId") == demoUser, "\(joined.status) \(joined.json)")

        var seats: [String] = []
        for pass in 1...2 {
            let (status, output) = try await Self.run(port: serve.port)
            #expect(status == 0, "pass \(pass) exited \(status):\n\(output)")
            let paid = output.split(separator: "\n").last { $0.contains("\"status\": \"COMPLETED\"") }
            let payment = try #require(paid, "pass \(pass) shows no payment:\n\(output)")
            #expect(payment.hasPrefix("HTTP 201 "))
            seats.append(try #require(payment.firstMatch(of: /"seatNo": (\d+)/)).1.description)
            #expect(output.contains("\"status\": \"ACTIVE\""), "pass \(pass) never saw its ticket admitted")
        }
        #expect(seats.count == 2 && seats[0] != seats[1], "both passes bought seat \(seats)")
        let sold = try database.scalar("select count(*) from app.payments")
        #expect(sold == "2")
        #expect(try Fixtures.audit(database).isEmpty)
    }

    /// Runs scripts/walkthrough against the server on `port`.
    static func run(port: Int) async throws -> (Int32, String) {
        var environment = ProcessInfo.processInfo.environment
        environment["BOXOFFICE_URL"] = "http://127.0.0.1:\(port)"
        return try await ProcessRun.run(["bash", script], environment: environment)
    }
}
