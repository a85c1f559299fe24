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
