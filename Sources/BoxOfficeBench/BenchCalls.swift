/// One route at a time, as fast as the virtual users can go, for the
/// HTTP/pgbench ratio of each function: user create, balance charge, concert
/// list, a concert's dates, a date's seats.
enum BenchCalls {
    static func run(_ context: BenchContext) async throws -> [BenchPhaseReport] {
        let concerts = try await context.concerts()
        guard !concerts.isEmpty else { throw BenchFailure("no concert has dates to come: run boxoffice seed first") }
        let count = context.connections.count
        let mine = (0..<count).map { concerts[$0 % concerts.count] }
        context.log("calls: tokens for \(count) users (setup)")
        let tokens = try await context.prepare { index, session -> (token: String, dates: [Int64]) in
            let concert = mine[index]
            guard let user = try await session.createUser(BenchContext.name("calls", index, 0)),
                let ticket = try await session.join(user: user, concert: concert),
                try await session.waitActive(ticket, pollMilliseconds: context.options.pollMilliseconds),
                let dates = try await session.dates(ticket.token, concert: concert)
            else { throw BenchFailure("setup of a calls user failed") }
            return (ticket.token, dates.map(\.dateId))
        }
        var phases: [BenchPhaseReport] = []
        func measure(_ name: String, _ body: @escaping @Sendable (Int, inout BenchSession) async throws -> Void) async {
            context.log("calls: \(name)")
            let result = await context.phase(body)
            phases.append(BenchPhaseReport(name: name, users: count, seconds: result.seconds, recorder: result.recorder))
        }
        await measure("user_create") { index, session in
            var n = 1
            while true {
                _ = try await session.createUser(BenchContext.name("calls", index, n))
                n += 1
            }
        }
        await measure("balance_charge") { index, session in
            while true { _ = try await session.charge(tokens[index].token, amount: 1_000) }
        }
        await measure("concert_list") { _, session in
            while true { _ = try await session.concertList() }
        }
        await measure("concert_dates") { index, session in
            while true {
                _ = try await session.call(
                    "GET /api/concerts/{id}/dates", .GET, "/api/concerts/\(mine[index])/dates", token: tokens[index].token)
            }
        }
        await measure("seat_list") { index, session in
            let dates = tokens[index].dates
            while true {
                let date = dates.randomElement()!
                _ = try await session.call(
                    "GET /api/concerts/{id}/dates/{id}/seats", .GET, "/api/concerts/\(mine[index])/dates/\(date)/seats",
                    token: tokens[index].token)
            }
        }
        return phases
    }
}
