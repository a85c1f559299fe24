import Foundation
import Testing

@testable import BoxOffice

@Suite("HTTP basics end to end")
struct HTTPFoundationTests {
    @Test("/health, /ready and /metrics answer")
    func operational() async throws {
        try await TestServer.with { server in
            let health = try await server.client.get("/health")
            #expect(health.status == 200)
            let ready = try await server.client.get("/ready")
            #expect(ready.status == 200)
            #expect(ready.string("status") == "ready")
            _ = try await server.client.get("/api/concerts")
            let metrics = try await server.client.get("/metrics")
            #expect(metrics.status == 200)
            #expect(String(decoding: metrics.body, as: UTF8.self).contains("hb_requests"))
        }
    }

    @Test("/metrics counts a client's error under the status it got, not as a 500")
    func metricsCountClientErrors() async throws {
        try await TestServer.with { server in
            // TOKEN_MISSING comes from the SQL (CR300), as a database error the
            // metrics used to see before it became a 401, and count as a 500.
            let answer = try await server.client.get("/api/concerts/1/dates")
            #expect(answer.status == 401)
            // The request is counted once its answer is written: look again for a moment.
            var lines: [Substring] = []
            for _ in 0..<20 {
                let text = String(decoding: try await server.client.get("/metrics").body, as: UTF8.self)
                lines = text.split(separator: "\n").filter { $0.contains("/api/concerts/{concertId}/dates") }
                if lines.contains(where: { $0.hasPrefix("hb_requests{") && $0.contains(#"status_code="401""#) }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(lines.contains { $0.hasPrefix("hb_requests{") && $0.contains(#"status_code="401""#) && !$0.hasSuffix(" 0") },
                "\(lines)")
            #expect(!lines.contains { $0.contains(#""500""#) && !$0.hasSuffix(" 0") }, "\(lines)")
        }
    }

    @Test("/ready is 503 while the schema is not current")
    func notReadyWhenBehind() async throws {
        try await TestServer.with { server in
            try server.database.scalar("drop function api.schema_version()")
            let ready = try await server.client.get("/ready")
            #expect(ready.status == 503)
            #expect(ready.errorCode == "UNAVAILABLE")
            #expect(ready.headers["retry-after"] != nil)
        }
    }

    @Test("POST /api/users creates a user with a zero balance")
    func createUser() async throws {
        try await TestServer.with { server in
            let answer = try await server.client.post("/api/users", ["name": "Ann"])
            #expect(answer.status == 201)
            #expect(answer.string("name") == "Ann")
            #expect(answer.int("balance") == 0)
            let id = try #require(answer.int("userId"))
            #expect(try server.database.scalar("select name from app.users where user_id = $1", [String(id)]) == "Ann")
        }
    }

    @Test("malformed bodies are 400 BAD_REQUEST and create nothing", arguments: [
        #"{"name": "#, #"not json"#, #"{}"#, #"{"name": 7}"#, #"{"name": null}"#, #"{"name": ""}"#, #"[]"#, "",
    ])
    func badBodies(body: String) async throws {
        try await TestServer.with { server in
            let answer = try await server.client.send("POST", "/api/users", raw: Data(body.utf8))
            #expect(answer.status == 400)
            #expect(answer.errorCode == "BAD_REQUEST")
            #expect(try server.database.scalar("select count(*) from app.users") == "0")
        }
    }

    @Test("unknown routes are 404, wrong methods 405, big bodies 413, all as JSON")
    func routingErrors() async throws {
        try await TestServer.with { server in
            let missing = try await server.client.get("/api/nothing-here")
            #expect(missing.status == 404)
            #expect(missing.errorCode == "NOT_FOUND")
            #expect(missing.headers["content-type"] == "application/json")

            let wrongMethod = try await server.client.send("PUT", "/api/users")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.errorCode == "METHOD_NOT_ALLOWED")
            #expect(wrongMethod.headers["allow"] == "POST")

            let big = try await server.client.send("POST", "/api/users", raw: Data(("{\"name\": \"" + String(repeating: "x", count: 70_000) + "\"}").utf8))
            #expect(big.status == 413)
            #expect(big.errorCode == "PAYLOAD_TOO_LARGE")
        }
    }

    @Test("a malformed chunked body is 400 BAD_REQUEST as JSON, not a 500")
    func malformedChunkedBody() async throws {
        try await TestServer.with { server in
            for chunks in ["zz\r\nabc\r\n0\r\n\r\n", "3\r\nabcdef\r\n0\r\n\r\n"] {
                let answer = try await RawHTTP.exchange(
                    port: server.port,
                    "POST /api/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks)
                #expect(answer.status == 400, "\(chunks.debugDescription): \(answer)")
                #expect(answer.body.contains(#""code":"BAD_REQUEST""#), "\(answer.body)")
            }
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.users") == 0)
        }
    }

    @Test("a name with an escaped NUL is 400 and creates nothing (libpq would cut it short)")
    func nulInName() async throws {
        try await TestServer.with { server in
            let answer = try await server.client.send("POST", "/api/users", raw: Data(#"{"name": "a\u0000b"}"#.utf8))
            #expect(answer.status == 400)
            #expect(answer.errorCode == "BAD_REQUEST")
            #expect(try QueueFixtures.count(server.database, "select count(*) from app.users") == 0)
        }
    }

    @Test("a request that waits too long for a connection is 503 with Retry-After")
    func poolExhaustionIs503() async throws {
        try await TestServer.with(poolSize: 1, poolWait: .milliseconds(500)) { server in
            // Hold the only connection until the request has been answered.
            let acquired = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            async let holder: Void = server.pool.withConnection { _ in
                acquired.signal()
                release.wait()
            }
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async { acquired.wait(); continuation.resume() }
            }
            let answer = try await server.client.post("/api/users", ["name": "Bo"])
            release.signal()
            try await holder
            #expect(answer.status == 503)
            #expect(answer.errorCode == "UNAVAILABLE")
            #expect(answer.headers["retry-after"] == "1")
            #expect(try server.database.scalar("select count(*) from app.users") == "0")
            // and the pool serves again once the connection is back
            #expect(try await server.client.post("/api/users", ["name": "Bo"]).status == 201)
        }
    }
}
