import Foundation

@testable import BoxOffice

/// scripts/webhooks/receiver.py in a process of its own: a Standard Webhooks
/// receiver in Python's standard library that verifies every signature
/// independently of the server's code and logs each POST as a JSON line.
final class WebhookReceiver: @unchecked Sendable {
    struct Entry: Decodable, Sendable {
        var id: String
        var type: String?
        var reservationId: Int64?
        var valid: Bool
        var fresh: Bool
        var duplicate: Bool
        var answered: Int?
        var started: Bool?
        var arrived: Double
    }

    static let secret = "whsec_" + Data("box office webhook test key".utf8).base64EncodedString()
    static let script = TestPaths.root + "/scripts/webhooks/receiver.py"

    let port: Int
    let logPath: String
    private var pid: pid_t?

    /// A free port (nothing listens on it until `start`).
    static func freePort() throws -> Int {
        Int(
            try Subprocess.run([
                "python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])",
            ]).trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    init(port: Int? = nil) throws {
        self.port = try port ?? Self.freePort()
        logPath =
            FileManager.default.temporaryDirectory.appendingPathComponent("receiver-\(UUID().uuidString.prefix(8)).jsonl").path
    }

    var url: String { "http://127.0.0.1:\(port)/hooks" }

    /// Starts the receiver (again, on the same port and log) and waits until it listens.
    func start(mode: String = "ok", delay: Double = 0, secret: String = WebhookReceiver.secret) async throws {
        let out = logPath + ".out"
        pid = try Subprocess.spawn(
            [
                "python3", Self.script, "--port", String(port), "--secret", secret, "--log", logPath, "--mode", mode,
                "--delay", String(delay),
            ], outputPath: out)
        for _ in 0..<100 {
            if ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("receiver listening") { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Subprocess.Failure(
            description: "the receiver did not start: \((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")")
    }

    /// Changes what the receiver answers from now on.
    func set(mode: String, delay: Double = 0) async throws {
        let answer = try await HTTPTestClient(port: port).post("/_mode", ["mode": mode, "delay": delay])
        precondition(answer.status == 204)
    }

    func stop() {
        guard let pid else { return }
        kill(pid, SIGKILL)
        Subprocess.wait(pid)
        self.pid = nil
    }

    /// Every POST it got so far, in arrival order.
    var entries: [Entry] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Entry.self, from: Data($0.utf8)) }
    }

    deinit { stop() }
}

/// What the outbox says about delivery, read as the owner.
enum WebhookProbe {
    struct Event: Sendable {
        var eventID: Int64
        var webhookID: String
        var kind: String
        var reservationID: Int64?
        var status: String
        var attempts: Int
    }

    static func events(_ database: TestDatabase) throws -> [Event] {
        let connection = try database.admin()
        defer { connection.close() }
        return try connection.execute(
            """
            select event_id, 'msg_' || webhook_id, kind, reservation_id, delivery_status, attempts
            from app.outbox order by event_id
            """
        ).rows.map {
            Event(
                eventID: Int64($0[0]!)!, webhookID: $0[1]!, kind: $0[2]!, reservationID: $0[3].flatMap { Int64($0) },
                status: $0[4]!, attempts: Int($0[5]!)!)
        }
    }

    /// Waits until no event is PENDING (up to `seconds`); true when so.
    static func allDone(_ database: TestDatabase, seconds: Double = 60) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try database.scalar("select not exists (select from app.outbox where delivery_status = 'PENDING')") == "t" {
                return true
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// Events for `reservations` reservations through the HTTP API: each is
    /// held, then paid (even ones) or cancelled (odd ones): three kinds of
    /// event, two per reservation, in an order the receiver must keep.
    static func makeEvents(_ client: HTTPTestClient, _ database: TestDatabase, reservations: Int) async throws -> [Int64] {
        let concert = try Fixtures.concert(database, dates: 1, price: 1000)
        let fans = try await Fixtures.activeTokens(client, database, concertId: concert.concertId, count: reservations)
        var ids = [Int64]()
        for (index, fan) in fans.enumerated() {
            let reservation = try await PaymentFixtures.hold(client, token: fan.token, concert: concert, seatNo: index + 1)
            ids.append(reservation)
            if index % 2 == 0 {
                try await Fixtures.charge(client, token: fan.token, amount: 1000)
                _ = try await PaymentFixtures.pay(client, token: fan.token, reservationId: reservation)
            } else {
                _ = try await client.send("DELETE", "/api/reservations/\(reservation)", token: fan.token)
            }
        }
        return ids
    }

    /// For each reservation, the kinds in the order the receiver first
    /// acknowledged them, against the outbox's order.
    static func orderBroken(_ events: [Event], _ entries: [WebhookReceiver.Entry]) -> [String] {
        var firstAck = [String: Int]()
        for (index, entry) in entries.enumerated() where entry.answered == 204 && firstAck[entry.id] == nil {
            firstAck[entry.id] = index
        }
        var problems = [String]()
        for (reservation, group) in Dictionary(grouping: events.filter { $0.reservationID != nil }, by: { $0.reservationID! }) {
            let acked = group.sorted { $0.eventID < $1.eventID }.map { firstAck[$0.webhookID] ?? -1 }
            if acked != acked.sorted() || acked.contains(-1) {
                problems.append("reservation \(reservation): \(group.map(\.kind)) acknowledged at \(acked)")
            }
        }
        return problems
    }
}
