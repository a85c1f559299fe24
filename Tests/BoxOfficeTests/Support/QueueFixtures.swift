import Foundation
import Testing

@testable import BoxOffice

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Helpers for the waiting-room and seat tests: the jobs run as the
/// superuser with a chosen policy, counts in the tables, many joins at once,
/// the Ticket shape, and a raw reader for the server-sent event stream.
enum QueueFixtures {
    /// Runs `api.queue_admit()` once on a fresh superuser connection with
    /// `queue_active_cap = cap` and any other policy (active_token_seconds,
    /// waiting_idle_seconds); returns how many it admitted.
    @discardableResult
    static func admit(_ database: TestDatabase, cap: Int, settings: [String: String] = [:]) throws -> Int {
        let connection = try database.admin()
        defer { connection.close() }
        try apply(["queue_active_cap": String(cap)].merging(settings) { _, new in new }, to: connection)
        return Int(try connection.execute("select api.queue_admit()").scalar ?? "0") ?? 0
    }

    /// Runs `api.tokens_expire()` once with the given policy; returns how many it expired.
    @discardableResult
    static func tokensExpire(_ database: TestDatabase, settings: [String: String] = [:]) throws -> Int {
        let connection = try database.admin()
        defer { connection.close() }
        try apply(settings, to: connection)
        return Int(try connection.execute("select api.tokens_expire()").scalar ?? "0") ?? 0
    }

    /// Sets policy values (app.settings) with api.setting_set, as a DBA
    /// would: the connection must be the owner's or a superuser's.
    static func apply(_ settings: [String: String], to connection: Connection) throws {
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            try connection.execute("select api.setting_set(name => $1, value => $2)", [name, value])
        }
    }

    /// The integer a one-value query returns, as the superuser.
    static func count(_ database: TestDatabase, _ sql: String, _ params: [String?] = []) throws -> Int {
        Int(try database.scalar(sql, params) ?? "") ?? -1
    }

    // MARK: moving the clock

    /// Lets `seconds` pass for the tickets of `tokens` without waiting: every
    /// time of theirs (joined, last seen, admitted, expires, ended) moves that
    /// far into the past, as the superuser. The API's functions read the time
    /// from the database clock, so to them it is as if the time had passed
    /// (the ticket was admitted, or last polled, `seconds` earlier), whatever
    /// the load on the machine.
    static func age(_ database: TestDatabase, tokens: [String], seconds: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let aged = try count(database, """
            with aged as (
              update app.queue_tickets t
              set joined_at = t.joined_at - make_interval(secs => $2::integer),
                  last_seen_at = t.last_seen_at - make_interval(secs => $2::integer),
                  activated_at = t.activated_at - make_interval(secs => $2::integer),
                  expires_at = t.expires_at - make_interval(secs => $2::integer),
                  ended_at = t.ended_at - make_interval(secs => $2::integer)
              where t.token = any ($1::uuid[])
              returning 1)
            select count(*) from aged
            """, ["{" + tokens.joined(separator: ",") + "}", String(seconds)])
        #expect(aged == tokens.count, "aged \(aged) of \(tokens.count) tickets", sourceLocation: sourceLocation)
    }

    /// One column of a ticket's row, as text (`status`, `ended_at - last_seen_at >= ...`).
    static func ticket(_ database: TestDatabase, _ token: String, _ expression: String) throws -> String? {
        try database.scalar("select \(expression) from app.queue_tickets where token = $1::uuid", [token])
    }

    /// POST /api/queue/tokens for every user at once; the answers in the order of `userIds`.
    static func joinAll(_ client: HTTPTestClient, userIds: [Int64], concertId: Int64) async throws -> [HTTPTestClient.Answer] {
        try await withThrowingTaskGroup(of: (Int, HTTPTestClient.Answer).self) { group in
            for (index, userId) in userIds.enumerated() {
                group.addTask {
                    (index, try await client.post("/api/queue/tokens", ["userId": userId, "concertId": concertId]))
                }
            }
            var answers = [HTTPTestClient.Answer?](repeating: nil, count: userIds.count)
            for try await (index, answer) in group { answers[index] = answer }
            return answers.compactMap { $0 }
        }
    }

    static let ticketKeys: Set<String> = ["token", "userId", "concertId", "status", "position", "estimatedWaitSeconds", "expiresAt", "saleOpensAt"]

    /// Checks a Ticket against the API (docs/api.md): every key, and position,
    /// estimatedWaitSeconds and expiresAt as its status requires.
    static func expectTicketShape(_ ticket: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Set(ticket.keys) == ticketKeys, "ticket keys: \(ticket.keys.sorted())", sourceLocation: sourceLocation)
        #expect((ticket["token"] as? String).flatMap(UUID.init(uuidString:)) != nil, "token \(ticket["token"] ?? "-")", sourceLocation: sourceLocation)
        #expect(ticket["userId"] is NSNumber && ticket["concertId"] is NSNumber, sourceLocation: sourceLocation)
        let position = (ticket["position"] as? NSNumber)?.int64Value
        let wait = (ticket["estimatedWaitSeconds"] as? NSNumber)?.int64Value
        switch ticket["status"] as? String {
        case "WAITING" where ticket["position"] is NSNull:
            // the pre-queue of a scheduled opening: no position, no estimate
            #expect(ticket["saleOpensAt"] is String, "only a pre-queued ticket has no position: \(ticket)", sourceLocation: sourceLocation)
            #expect(ticket["estimatedWaitSeconds"] is NSNull, "a pre-queued ticket has no estimate: \(ticket)", sourceLocation: sourceLocation)
            #expect(ticket["expiresAt"] is NSNull, "expiresAt is null while WAITING: \(ticket)", sourceLocation: sourceLocation)
        case "WAITING":
            #expect((position ?? 0) >= 1, "a WAITING position is 1-based: \(ticket)", sourceLocation: sourceLocation)
            #expect((wait ?? 0) > 0, "a WAITING ticket has a wait estimate: \(ticket)", sourceLocation: sourceLocation)
            #expect(ticket["expiresAt"] is NSNull, "expiresAt is null while WAITING: \(ticket)", sourceLocation: sourceLocation)
        case "ACTIVE":
            #expect(position == 0, "an ACTIVE position is 0: \(ticket)", sourceLocation: sourceLocation)
            #expect(wait == 0, "an ACTIVE estimate is 0: \(ticket)", sourceLocation: sourceLocation)
            let expiresAt = ticket["expiresAt"] as? String ?? ""
            #expect(expiresAt.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil, "expiresAt \(expiresAt)", sourceLocation: sourceLocation)
        case let other:
            Issue.record("ticket status \(other ?? "missing")", sourceLocation: sourceLocation)
        }
    }

    /// A server-sent event stream read over a raw TCP connection, so that
    /// each event can be waited for with a deadline.
    final class EventStream: @unchecked Sendable {
        struct Event: Sendable {
            var name: String
            var data: String
            var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:] }
        }

        struct Failure: Error, CustomStringConvertible { var description: String }

        private let fd: Int32
        private var raw: [UInt8] = []
        private var chunked = false
        private var body: [UInt8] = []
        private var closed = false
        private var ended = false
        private(set) var status = 0
        private(set) var headers: [String: String] = [:]

        /// Connects, sends GET `path` with `Authorization: Bearer token`, and
        /// reads the status line and headers (within `deadline`).
        init(port: Int, path: String = "/api/queue/tokens/me/events", token: String, deadline: Duration = .seconds(20)) async throws {
            #if canImport(Glibc)
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
            fd = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard fd >= 0 else { throw Failure(description: "socket() failed") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                Self.closeSocket(fd)
                throw Failure(description: "connect() failed")
            }
            let request = Array((
                "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(token)\r\n"
                    + "Accept: text/event-stream\r\n\r\n").utf8)
            let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard sent == request.count else {
                Self.closeSocket(fd)
                throw Failure(description: "send() wrote \(sent) of \(request.count) bytes")
            }
            let end = ContinuousClock.now + deadline
            while true {
                if let range = findSubsequence(Array("\r\n\r\n".utf8), in: raw) {
                    let head = String(decoding: raw[..<range.lowerBound], as: UTF8.self)
                    raw.removeSubrange(..<range.upperBound)
                    var lines = head.components(separatedBy: "\r\n")
                    let statusLine = lines.removeFirst().split(separator: " ")
                    status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
                    for line in lines {
                        guard let colon = line.firstIndex(of: ":") else { continue }
                        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    }
                    chunked = headers["transfer-encoding"]?.lowercased().contains("chunked") ?? false
                    break
                }
                guard try await fill(until: end) else { throw Failure(description: "no response headers within \(deadline)") }
            }
        }

        /// The next event, or nil when none arrives before `deadline` or the stream ends.
        func next(within deadline: Duration) async throws -> Event? {
            let end = ContinuousClock.now + deadline
            while true {
                decodeBody()
                if let range = findSubsequence(Array("\n\n".utf8), in: body) {
                    let text = String(decoding: body[..<range.lowerBound], as: UTF8.self)
                    body.removeSubrange(..<range.upperBound)
                    var event = Event(name: "message", data: "")
                    var data: [String] = []
                    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                        if line.hasPrefix("event:") {
                            event.name = line.dropFirst(6).trimmingCharacters(in: .whitespaces)
                        } else if line.hasPrefix("data:") {
                            data.append(String(line.dropFirst(5).drop { $0 == " " }))
                        }
                    }
                    event.data = data.joined(separator: "\n")
                    return event
                }
                guard try await fill(until: end) else { return nil }
            }
        }

        /// The next event named `name` whose JSON satisfies `predicate`, within `deadline`.
        func next(_ name: String, within deadline: Duration, where predicate: ([String: Any]) -> Bool = { _ in true }) async throws -> Event? {
            let end = ContinuousClock.now + deadline
            while ContinuousClock.now < end {
                guard let event = try await next(within: end - ContinuousClock.now) else { return nil }
                if event.name == name && predicate(event.json) { return event }
            }
            return nil
        }

        func close() {
            guard !closed else { return }
            closed = true
            Self.closeSocket(fd)
        }

        private static func closeSocket(_ fd: Int32) {
            #if canImport(Glibc)
            _ = Glibc.close(fd)
            #else
            _ = Darwin.close(fd)
            #endif
        }

        deinit { close() }

        /// Moves what has arrived of the body into `body`, undoing chunked encoding.
        private func decodeBody() {
            guard chunked else {
                body += raw
                raw.removeAll()
                return
            }
            while let lineEnd = findSubsequence(Array("\r\n".utf8), in: raw) {
                let sizeText = String(decoding: raw[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return }
                let start = lineEnd.upperBound
                guard raw.count >= start + size + 2 else { return }
                body += raw[start..<start + size]
                raw.removeSubrange(..<(start + size + 2))
                if size == 0 {
                    ended = true
                    return
                }
            }
        }

        /// Reads what is available, polling without blocking a thread until
        /// `end`; false when nothing more can come (deadline or end of stream).
        private func fill(until end: ContinuousClock.Instant) async throws -> Bool {
            var buffer = [UInt8](repeating: 0, count: 16_384)
            while ContinuousClock.now < end {
                if closed || ended { return false }
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if count > 0 {
                    raw += buffer[..<count]
                    return true
                }
                if count == 0 { return false }
                guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else { return false }
                try await Task.sleep(for: .milliseconds(20))
            }
            return false
        }

        private func findSubsequence(_ needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
            guard haystack.count >= needle.count else { return nil }
            for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
                if Array(haystack[start..<start + needle.count]) == needle { return start..<start + needle.count }
            }
            return nil
        }
    }
}
