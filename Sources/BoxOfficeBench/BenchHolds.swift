/// Seat holds alone. Every virtual user gets an ACTIVE token for each of the
/// given concerts (setup), then: distinct seats, each user holding seats no
/// one else asks for (every answer a 201); then one contested seat that every
/// user asks for at once and again (one 201, then 200 for the winner and 409
/// for everyone else).
enum BenchHolds {
    struct Seat: Sendable {
        var concert: Int64
        var date: Int64
        var seat: Int
    }

    static func run(_ context: BenchContext) async throws -> [BenchPhaseReport] {
        guard let concerts = context.options.concerts, !concerts.isEmpty else {
            throw BenchFailure("holds needs --concerts (concerts no other scenario uses)")
        }
        let poll = context.options.pollMilliseconds
        context.log("holds: tokens for \(context.connections.count) users on \(concerts.count) concerts (setup)")
        let tokens = try await BenchTokens.active(context, concerts: concerts, poll: poll, prefix: "holds")
        var dates: [(concert: Int64, date: Int64)] = []
        for concert in concerts {
            let listed = try await context.prepare(users: 1) { _, session in
                try await session.dates(tokens[0][concert]!, concert: concert) ?? []
            }
            dates += listed[0].filter { $0.availableSeats == 50 }.map { (concert, $0.dateId) }
        }
        guard let contested = dates.popLast() else { throw BenchFailure("holds: no date with 50 free seats in \(concerts)") }
        let seats = dates.flatMap { pair in (1...50).map { Seat(concert: pair.concert, date: pair.date, seat: $0) } }
        let count = context.connections.count
        context.log("holds: \(seats.count) distinct seats, then seat 1 of date \(contested.date)")

        let distinct = await context.phase(requests: min(context.options.maxRequests, seats.count)) { index, session in
            for n in stride(from: index, to: seats.count, by: count) {
                let seat = seats[n]
                _ = try await session.hold(tokens[index][seat.concert]!, concert: seat.concert, date: seat.date, seat: seat.seat)
            }
        }
        let oneSeat = await context.phase { index, session in
            let token = tokens[index][contested.concert]!
            while true {
                _ = try await session.hold(token, concert: contested.concert, date: contested.date, seat: 1)
            }
        }
        return [
            BenchPhaseReport(
                name: "holds, distinct seats", users: count, seconds: distinct.seconds, recorder: distinct.recorder,
                counters: ["seats available": Double(seats.count)]),
            BenchPhaseReport(
                name: "holds, one contested seat", users: count, seconds: oneSeat.seconds, recorder: oneSeat.recorder),
        ]
    }
}

/// ACTIVE tokens for setup: one new user per virtual user, joined to each
/// concert, polled until admitted. [user index][concert] = token.
enum BenchTokens {
    static func active(_ context: BenchContext, concerts: [Int64], poll: Int, prefix: String) async throws -> [[Int64: String]] {
        try await context.prepare { index, session in
            guard let user = try await session.createUser(BenchContext.name(prefix, index, 0)) else {
                throw BenchFailure("POST /api/users failed during setup")
            }
            var tokens: [Int64: String] = [:]
            var tickets: [BenchJSON.Ticket] = []
            for concert in concerts {
                guard let ticket = try await session.join(user: user, concert: concert) else {
                    throw BenchFailure("POST /api/queue/tokens failed during setup")
                }
                tickets.append(ticket)
                tokens[concert] = ticket.token
            }
            for ticket in tickets {
                guard try await session.waitActive(ticket, pollMilliseconds: poll) else {
                    throw BenchFailure("a setup ticket was not admitted")
                }
            }
            return tokens
        }
    }
}
