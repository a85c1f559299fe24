import Foundation
import NIOCore
import NIOHTTP1

/// One virtual user: its connection, the phase's budget, and what it saw.
/// `call` is the only way a scenario talks to the server, so every request
/// is bounded and timed the same way.
struct BenchSession {
    let connection: BenchConnection
    let budget: BenchBudget
    var recorder = BenchRecorder()

    init(connection: BenchConnection, budget: BenchBudget) {
        self.connection = connection
        self.budget = budget
    }

    /// One request, timed from just before it is written to the end of its
    /// answer. A request that gets no answer counts as status 0 and returns
    /// a status-0 response (the connection is opened again next time).
    @discardableResult
    mutating func call(_ route: String, _ method: HTTPMethod, _ path: String, token: String? = nil, json: String? = nil)
        async throws -> BenchConnection.Response
    {
        try budget.take()
        let started = ContinuousClock.now
        let response: BenchConnection.Response
        do {
            response = try await connection.send(method, path, token: token, json: json)
        } catch {
            response = BenchConnection.Response(status: 0, body: ByteBuffer())
        }
        let micros = BenchClock.micros(ContinuousClock.now - started)
        recorder.record(route, status: response.status, micros: UInt32(clamping: micros))
        return response
    }
}

/// The answers the scenarios read. Only the fields they need; JSONDecoder
/// skips the rest.
enum BenchJSON {
    struct User: Decodable { var userId: Int64 }
    struct Ticket: Decodable {
        var token: String
        var status: String
        var position: Int64?
    }
    struct Concerts: Decodable { var concerts: [Concert] }
    struct Concert: Decodable {
        var concertId: Int64
        var dates: Int
    }
    struct Dates: Decodable { var dates: [ConcertDate] }
    struct ConcertDate: Decodable {
        var dateId: Int64
        var availableSeats: Int
    }
    struct Seats: Decodable { var seats: [Seat] }
    struct Seat: Decodable { var seatNo: Int }
    struct Reservation: Decodable { var reservationId: Int64 }

    static func decode<T: Decodable>(_ type: T.Type, _ response: BenchConnection.Response) -> T? {
        guard response.body.readableBytes > 0 else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(response.body.readableBytesView))
    }
}

/// The routes, as the scenarios call them. Each returns nil (or false) when
/// the answer was not the success the flow needed; the status is in the
/// recorder either way.
extension BenchSession {
    mutating func createUser(_ name: String) async throws -> Int64? {
        let response = try await call("POST /api/users", .POST, "/api/users", json: #"{"name":"\#(name)"}"#)
        return response.status == 201 ? BenchJSON.decode(BenchJSON.User.self, response)?.userId : nil
    }

    mutating func join(user: Int64, concert: Int64) async throws -> BenchJSON.Ticket? {
        try await joinAnswer(user: user, concert: concert).ticket
    }

    /// A join, with the answer's X-Poll-Interval (seconds).
    mutating func joinAnswer(user: Int64, concert: Int64) async throws -> (ticket: BenchJSON.Ticket?, pollInterval: Int?) {
        let response = try await call(
            "POST /api/queue/tokens", .POST, "/api/queue/tokens", json: #"{"userId":\#(user),"concertId":\#(concert)}"#)
        guard (200...201).contains(response.status) else { return (nil, nil) }
        return (BenchJSON.decode(BenchJSON.Ticket.self, response), response.pollInterval)
    }

    /// The ticket of a token (a poll), with the status code (410 once it is
    /// gone) and the answer's X-Poll-Interval (seconds).
    mutating func ticket(_ token: String) async throws -> (status: Int, ticket: BenchJSON.Ticket?, pollInterval: Int?) {
        let response = try await call("GET /api/queue/tokens/me", .GET, "/api/queue/tokens/me", token: token)
        return (
            response.status, response.status == 200 ? BenchJSON.decode(BenchJSON.Ticket.self, response) : nil,
            response.pollInterval
        )
    }

    mutating func leave(_ token: String) async throws {
        try await call("DELETE /api/queue/tokens/me", .DELETE, "/api/queue/tokens/me", token: token)
    }

    mutating func charge(_ token: String, amount: Int) async throws -> Bool {
        let response = try await call(
            "POST /api/balance/charge", .POST, "/api/balance/charge", token: token, json: #"{"amount":\#(amount)}"#)
        return response.status == 200
    }

    mutating func concerts() async throws -> [BenchJSON.Concert]? {
        let response = try await call("GET /api/concerts", .GET, "/api/concerts")
        return response.status == 200 ? BenchJSON.decode(BenchJSON.Concerts.self, response)?.concerts : nil
    }

    /// GET /api/concerts without reading the answer (it is long at scale).
    mutating func concertList() async throws -> Bool {
        try await call("GET /api/concerts", .GET, "/api/concerts").status == 200
    }

    mutating func dates(_ token: String, concert: Int64) async throws -> [BenchJSON.ConcertDate]? {
        let response = try await call(
            "GET /api/concerts/{id}/dates", .GET, "/api/concerts/\(concert)/dates", token: token)
        return response.status == 200 ? BenchJSON.decode(BenchJSON.Dates.self, response)?.dates : nil
    }

    mutating func seats(_ token: String, concert: Int64, date: Int64) async throws -> [Int]? {
        let response = try await call(
            "GET /api/concerts/{id}/dates/{id}/seats", .GET, "/api/concerts/\(concert)/dates/\(date)/seats", token: token)
        return response.status == 200 ? BenchJSON.decode(BenchJSON.Seats.self, response)?.seats.map(\.seatNo) : nil
    }

    /// A hold: the status (201, 200, 409, ...) and the reservation when held.
    mutating func hold(_ token: String, concert: Int64, date: Int64, seat: Int) async throws -> (status: Int, reservation: Int64?)
    {
        let response = try await call(
            "POST /api/reservations", .POST, "/api/reservations", token: token,
            json: #"{"concertId":\#(concert),"dateId":\#(date),"seatNo":\#(seat)}"#)
        let reservation =
            (200...201).contains(response.status)
            ? BenchJSON.decode(BenchJSON.Reservation.self, response)?.reservationId : nil
        return (response.status, reservation)
    }

    mutating func pay(_ token: String, reservation: Int64) async throws -> Int {
        try await call(
            "POST /api/payments", .POST, "/api/payments", token: token, json: #"{"reservationId":\#(reservation)}"#
        ).status
    }

    /// Polls every `pollMilliseconds` until the ticket is ACTIVE; nil when it
    /// is gone (410) or the answers stop making sense.
    mutating func waitActive(_ ticket: BenchJSON.Ticket, pollMilliseconds: Int) async throws -> Bool {
        var status = ticket.status
        var failures = 0
        while status != "ACTIVE" {
            try await budget.sleep(milliseconds: pollMilliseconds)
            let answer = try await self.ticket(ticket.token)
            if let current = answer.ticket {
                status = current.status
            } else if answer.status == 410 || answer.status == 401 {
                return false
            } else {
                failures += 1
                if failures > 20 { return false }
            }
        }
        return true
    }
}
