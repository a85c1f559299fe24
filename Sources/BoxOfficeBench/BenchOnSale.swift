import NIOConcurrencyHelpers

/// An on-sale: `--people` users after the `--seats` seats of one concert
/// date, through the server's real admission (its QUEUE_ACTIVE_CAP and
/// ADMIT_INTERVAL_SECONDS). Each of the `--users` connections runs
/// people/users of them: each person joins, then polls while WAITING, each
/// poll when the last answer's X-Poll-Interval says (every `--poll-ms` when
/// it says nothing, or always with `--fixed-poll`), the first one interval
/// after their own join (not after the connection's other joins), and once
/// ACTIVE charge, look for a free seat, hold it and pay; a
/// user who finds no free seat or loses three times with 409 leaves (DELETE
/// the token), giving the slot to the next in line. Ends `--drain` seconds
/// after the last seat is paid, when everyone is done, or at `--duration`.
enum BenchOnSale {
    final class State: Sendable {
        struct Counts {
            var sold = 0
            var soldOutAt: ContinuousClock.Instant?
            var firstAdmittedAt: ContinuousClock.Instant?
            var joined = 0
            var allJoinedAt: ContinuousClock.Instant?
        }

        let counts = NIOLockedValueBox(Counts())
        let started = ContinuousClock.now
    }

    struct Person {
        var user: Int64
        var token: String?
        var active = false
        var done = false
        var nextPoll = ContinuousClock.now
    }

    static func run(_ context: BenchContext) async throws -> [BenchPhaseReport] {
        guard let concert = context.options.concerts?.first else {
            throw BenchFailure("onsale needs --concerts ID: a concert whose one date holds the seats on sale")
        }
        let options = context.options
        let users = try await BenchUsers.supply(context, needed: options.userIDs == nil ? options.people : 0, prefix: "onsale")
        guard users.count >= options.people else {
            throw BenchFailure("onsale: \(options.people) people but only \(users.count) users")
        }
        let count = context.connections.count
        let state = State()
        let budget = BenchBudget(seconds: options.duration, requests: options.maxRequests)
        context.log("onsale: \(options.people) people on \(count) connections after \(options.seats) seats of concert \(concert)")
        // When a person polls next: when the answer says, or every --poll-ms.
        let interval = { @Sendable (advised: Int?) -> Duration in
            guard options.followsPollInterval, let advised else { return .milliseconds(options.pollMilliseconds) }
            return .seconds(advised)
        }
        let result = await context.phase(budget: budget) { index, session in
            var people = stride(from: index, to: options.people, by: count).map { Person(user: users[$0]) }
            while true {
                try checkDrain(state, budget: budget, seats: options.seats, drain: options.drain)
                var acted = false
                var earliest = ContinuousClock.now + .seconds(1)
                var joinedThisPass = false
                for n in people.indices where !people[n].done {
                    // Each person joins, then polls on their own schedule:
                    // the first poll one poll interval after their own join.
                    guard let token = people[n].token else {
                        // one join per pass, so the polls that fall due
                        // between this connection's joins are not held up
                        if joinedThisPass {
                            acted = true
                            continue
                        }
                        joinedThisPass = true
                        let joined = try await session.joinAnswer(user: people[n].user, concert: concert)
                        if let ticket = joined.ticket {
                            people[n].token = ticket.token
                            people[n].active = ticket.status == "ACTIVE"
                            people[n].nextPoll = .now + interval(joined.pollInterval)
                            earliest = min(earliest, people[n].nextPoll)
                        } else {
                            people[n].done = true
                            session.recorder.count("join failed")
                            session.recorder.count("people finished")
                        }
                        state.counts.withLockedValue {
                            $0.joined += 1
                            if $0.joined == options.people { $0.allJoinedAt = .now }
                        }
                        acted = true
                        continue
                    }
                    if !people[n].active {
                        guard people[n].nextPoll <= .now else {
                            earliest = min(earliest, people[n].nextPoll)
                            continue
                        }
                        let answer = try await session.ticket(token)
                        acted = true
                        people[n].nextPoll = .now + interval(answer.pollInterval)
                        earliest = min(earliest, people[n].nextPoll)
                        if answer.ticket?.status == "ACTIVE" {
                            people[n].active = true
                        } else if answer.status == 410 || answer.status == 401 {
                            people[n].done = true
                            session.recorder.count("tokens lost while waiting (410)")
                            session.recorder.count("people finished")
                            continue
                        } else {
                            continue
                        }
                    }
                    state.counts.withLockedValue { if $0.firstAdmittedAt == nil { $0.firstAdmittedAt = .now } }
                    session.recorder.count("admitted")
                    try await buy(
                        &session, token: token, concert: concert, state: state, seats: options.seats, budget: budget,
                        drain: options.drain)
                    people[n].done = true
                    session.recorder.count("people finished")
                    acted = true
                }
                if people.allSatisfy(\.done) { return }
                if !acted {
                    let wait = max(1, Int(BenchClock.micros(earliest - .now) / 1000))
                    try await budget.sleep(milliseconds: wait)
                }
            }
        }
        let counts = state.counts.withLockedValue { $0 }
        var counters: [String: Double] = [
            "people": Double(options.people), "seats on sale": Double(options.seats), "seats paid": Double(counts.sold),
        ]
        if let soldOut = counts.soldOutAt { counters["seconds until sold out"] = BenchClock.seconds(soldOut - state.started) }
        if let joined = counts.allJoinedAt {
            counters["seconds until all joined"] = BenchClock.seconds(joined - state.started)
        }
        if let first = counts.firstAdmittedAt {
            counters["seconds until first admission"] = BenchClock.seconds(first - state.started)
        }
        counters["still waiting at the end"] = Double(options.people - (result.recorder.counters["people finished"] ?? 0))
        return [
            BenchPhaseReport(
                name: "on-sale", users: count, seconds: result.seconds, recorder: result.recorder, counters: counters,
                notes: result.failures.prefix(5).map { "virtual user failed: \($0)" })
        ]
    }

    /// An admitted user: charge, find a free seat, hold, pay; or leave.
    static func buy(
        _ session: inout BenchSession, token: String, concert: Int64, state: State, seats: Int, budget: BenchBudget, drain: Double
    )
        async throws
    {
        guard try await session.charge(token, amount: 200_000) else {
            session.recorder.count("charge failed")
            return
        }
        for _ in 0..<3 {
            guard let date = try await session.dates(token, concert: concert)?.first(where: { $0.availableSeats > 0 }),
                let free = try await session.seats(token, concert: concert, date: date.dateId), let seat = free.randomElement()
            else { break }
            let hold = try await session.hold(token, concert: concert, date: date.dateId, seat: seat)
            guard let reservation = hold.reservation else {
                session.recorder.count("seat taken (409), tried again")
                continue
            }
            if try await session.pay(token, reservation: reservation) == 201 {
                session.recorder.count("bought")
                state.counts.withLockedValue {
                    $0.sold += 1
                    if $0.sold >= seats, $0.soldOutAt == nil { $0.soldOutAt = .now }
                }
                return
            }
            session.recorder.count("payment failed")
            break
        }
        try await session.leave(token)
        session.recorder.count("left (no seat)")
    }

    static func checkDrain(_ state: State, budget: BenchBudget, seats: Int, drain: Double) throws {
        let soldOut = state.counts.withLockedValue { $0.soldOutAt }
        if let soldOut, ContinuousClock.now >= soldOut + .milliseconds(Int64(drain * 1000)) {
            budget.stop()
            throw BenchBudget.Over()
        }
    }
}
