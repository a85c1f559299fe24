/// The documents' flow with a real token, per virtual user, over and over:
/// a new user joins the queue of a random concert, polls until admitted,
/// charges, lists concerts, dates and seats, holds a random free seat (on a
/// 409 another one, on a full date another date) and pays.
enum BenchFlow {
    static let charge = 200_000

    static func run(_ context: BenchContext) async throws -> [BenchPhaseReport] {
        let concerts = try await context.concerts()
        guard !concerts.isEmpty else { throw BenchFailure("no concert has dates to come: run boxoffice seed first") }
        let poll = context.options.pollMilliseconds
        context.log("flow: \(context.connections.count) users on \(concerts.count) concerts for \(context.options.duration) s")
        let result = await context.phase { index, session in
            var round = 0
            while true {
                round += 1
                let started = ContinuousClock.now
                if try await purchase(
                    &session, name: BenchContext.name("flow", index, round), concert: concerts.randomElement()!, poll: poll)
                {
                    session.recorder.count("flows completed")
                    session.recorder.span("flow end to end (incl. queue wait)", since: started)
                }
            }
        }
        var counters: [String: Double] = [:]
        if let completed = result.recorder.counters["flows completed"] {
            counters["flows per second"] = Double(completed) / result.seconds
        }
        return [
            BenchPhaseReport(
                name: "flow", users: context.connections.count, seconds: result.seconds, recorder: result.recorder,
                counters: counters, notes: result.failures.prefix(5).map { "virtual user failed: \($0)" })
        ]
    }

    /// One user's purchase; false when a step failed or no seat was left.
    static func purchase(_ session: inout BenchSession, name: String, concert: Int64, poll: Int) async throws -> Bool {
        guard let user = try await session.createUser(name),
            let ticket = try await session.join(user: user, concert: concert)
        else {
            session.recorder.count("flows failed")
            return false
        }
        guard try await session.waitActive(ticket, pollMilliseconds: poll) else {
            session.recorder.count("flows failed")
            return false
        }
        guard try await session.charge(ticket.token, amount: charge), try await session.concertList(),
            let dates = try await session.dates(ticket.token, concert: concert)
        else {
            session.recorder.count("flows failed")
            return false
        }
        var reservation: Int64?
        search: for date in dates.filter({ $0.availableSeats > 0 }).shuffled().prefix(3) {
            guard let seats = try await session.seats(ticket.token, concert: concert, date: date.dateId) else { break }
            for seat in seats.shuffled().prefix(5) {
                let hold = try await session.hold(ticket.token, concert: concert, date: date.dateId, seat: seat)
                if let id = hold.reservation {
                    reservation = id
                    break search
                }
                guard hold.status == 409 else { break search }
                session.recorder.count("seat taken, tried another (409)")
            }
        }
        guard let reservation else {
            session.recorder.count("flows without a seat")
            return false
        }
        guard try await session.pay(ticket.token, reservation: reservation) == 201 else {
            session.recorder.count("flows failed")
            return false
        }
        return true
    }
}
