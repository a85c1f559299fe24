import Foundation
import Testing

@testable import BoxOffice

/// Joining the queue takes the user's API key (USER_KEYS=required): knowing
/// a user's id is not enough to act for them.
@Suite("API keys on joins")
struct APIKeyHTTPTests {
    /// Runs `boxoffice users key USER_ID` against `database`: exit status and output.
    static func usersKey(_ database: TestDatabase, _ userId: String) throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString).out").path
        defer { unlink(log) }
        let status = Subprocess.wait(try Subprocess.spawn(
            [TestPaths.binary, "users", "key", userId],
            environment: ProcessInfo.processInfo.environment.merging([
                "DATABASE_URL": database.adminConninfo, "MIGRATE_DATABASE_URL": "",
                "BOXOFFICE_SQL_DIR": TestPaths.sql, "LOG_LEVEL": "error",
            ]) { _, new in new },
            outputPath: log))
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    @Test("401 without a key or with a wrong one, 403 for another user's id, 201 with the key; a new key retires the old")
    func requiredKeys() async throws {
        try await TestServer.with(settings: ["user_keys": "required"]) { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let ann = try await client.post("/api/users", ["name": "ann"])
            let bob = try await client.post("/api/users", ["name": "bob"])
            #expect(ann.status == 201)
            let annId = try #require(ann.int("userId"))
            let bobId = try #require(bob.int("userId"))
            let annKey = try #require(ann.string("apiKey"))
            #expect(annKey.wholeMatch(of: /bo_[0-9a-f]{64}/) != nil, "\(annKey)")
            #expect(try server.database.scalar("select count(*) from app.users where api_key_hash is not null") == "2")

            let missing = try await client.post("/api/queue/tokens", ["userId": annId, "concertId": concert.concertId])
            #expect(missing.status == 401 && missing.errorCode == "API_KEY_MISSING", "\(missing.json)")
            for empty in ["Bearer", "bearer   ", "  "] {
                let schemeOnly = try await client.post("/api/queue/tokens", ["concertId": concert.concertId], headers: ["Authorization": empty])
                #expect(schemeOnly.status == 401 && schemeOnly.errorCode == "API_KEY_MISSING", "'\(empty)': \(schemeOnly.json)")
            }
            let wrong = try await client.post("/api/queue/tokens", ["concertId": concert.concertId], token: "bo_" + String(repeating: "0", count: 64))
            #expect(wrong.status == 401 && wrong.errorCode == "API_KEY_INVALID", "\(wrong.json)")
            let junk = try await client.post("/api/queue/tokens", ["concertId": concert.concertId], headers: ["Authorization": "not a key"])
            #expect(junk.status == 401 && junk.errorCode == "API_KEY_INVALID", "\(junk.json)")
            let forbidden = try await client.post("/api/queue/tokens", ["userId": bobId, "concertId": concert.concertId], token: annKey)
            #expect(forbidden.status == 403 && forbidden.errorCode == "TOKEN_FORBIDDEN", "\(forbidden.json)")
            let malformed = try await client.post("/api/queue/tokens", ["userId": annId], token: annKey)
            #expect(malformed.status == 400, "a malformed request is a 400 before any key check")
            #expect(try server.database.scalar("select count(*) from app.queue_tickets") == "0", "none of them joined")

            let joined = try await client.post("/api/queue/tokens", ["concertId": concert.concertId], token: annKey)
            #expect(joined.status == 201, "\(joined.json)")
            #expect(joined.int("userId") == annId, "the key alone says who joins")
            let again = try await client.post("/api/queue/tokens", ["userId": annId, "concertId": concert.concertId], token: annKey)
            #expect(again.status == 200 && again.string("token") == joined.string("token"))

            // A DBA rotates ann's key with boxoffice users key.
            let rotated = try Self.usersKey(server.database, String(annId))
            #expect(rotated.status == 0, "\(rotated.output)")
            let newKey = rotated.output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(newKey.wholeMatch(of: /bo_[0-9a-f]{64}/) != nil, "\(rotated.output)")
            let old = try await client.post("/api/queue/tokens", ["concertId": concert.concertId], token: annKey)
            #expect(old.status == 401 && old.errorCode == "API_KEY_INVALID", "the old key stops working at once")
            #expect(try await client.post("/api/queue/tokens", ["concertId": concert.concertId], token: newKey).status == 200)
            let nobody = try Self.usersKey(server.database, "999999999")
            #expect(nobody.status != 0 && nobody.output.contains("no user 999999999"), "\(nobody.output)")
        }
    }

    @Test("with USER_KEYS=optional a join may name its userId alone, but a wrong key is still 401")
    func optionalKeys() async throws {
        try await TestServer.with(settings: ["user_keys": "optional"]) { server in
            let client = server.client
            let concert = try Fixtures.concert(server.database, dates: 1)
            let userId = try await Fixtures.user(client)
            #expect(try await client.post("/api/queue/tokens", ["userId": userId, "concertId": concert.concertId]).status == 201)
            let wrong = try await client.post("/api/queue/tokens", ["userId": userId, "concertId": concert.concertId], token: "bo_nope")
            #expect(wrong.status == 401 && wrong.errorCode == "API_KEY_INVALID")
            let nobody = try await client.post("/api/queue/tokens", ["concertId": concert.concertId])
            #expect(nobody.status == 400, "neither key nor userId")
        }
    }
}
