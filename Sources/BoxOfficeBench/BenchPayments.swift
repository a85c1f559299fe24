import Foundation

/// Payments alone. Setup prepares `--count` purchases (a new user each,
/// admitted, charged, holding a distinct seat of the given concerts); then
/// every virtual user pays its own as fast as it can. The retries come from
/// the server's /metrics, read before and after: boxoffice_payments_retried_total
/// (payments that needed at least one retry), boxoffice_payment_retries_total
/// (retried attempts) and boxoffice_payments_retries_exhausted_total (503s).
enum BenchPayments {
    struct Purchase: Sendable {
        var token: String
        var reservation: Int64
    }

    static func run(_ context: BenchContext) async throws -> [BenchPhaseReport] {
        guard let concerts = context.options.concerts, !concerts.isEmpty else {
            throw BenchFailure("payments needs --concerts (concerts no other scenario uses)")
        }
        let count = context.connections.count
        let poll = context.options.pollMilliseconds
        let scout = try await BenchTokens.active(context.limited(to: 1), concerts: concerts, poll: poll, prefix: "pay-scout")[0]
        var found: [BenchHolds.Seat] = []
        for concert in concerts {
            let dates = try await context.prepare(users: 1) { _, session in
                try await session.dates(scout[concert]!, concert: concert) ?? []
            }
            found += dates[0].filter { $0.availableSeats == 50 }.flatMap { date in
                (1...50).map { BenchHolds.Seat(concert: concert, date: date.dateId, seat: $0) }
            }
        }
        let seats = found
        let total = min(context.options.count, seats.count)
        context.log("payments: preparing \(total) holds (setup, not measured)")
        let prepared = try await context.prepare { index, session -> [Purchase] in
            let mine = stride(from: index, to: total, by: count).map { seats[$0] }
            var tickets: [(BenchJSON.Ticket, BenchHolds.Seat)] = []
            for (n, seat) in mine.enumerated() {
                guard let user = try await session.createUser(BenchContext.name("pay", index, n)),
                    let ticket = try await session.join(user: user, concert: seat.concert)
                else { throw BenchFailure("setup of a payment failed (user or join)") }
                tickets.append((ticket, seat))
            }
            var purchases: [Purchase] = []
            for (ticket, seat) in tickets {
                guard try await session.waitActive(ticket, pollMilliseconds: poll),
                    try await session.charge(ticket.token, amount: 200_000),
                    let reservation = try await session.hold(
                        ticket.token, concert: seat.concert, date: seat.date, seat: seat.seat
                    ).reservation
                else { throw BenchFailure("setup of a payment failed (admission, charge or hold)") }
                purchases.append(Purchase(token: ticket.token, reservation: reservation))
            }
            return purchases
        }
        let before = try await counters(context)
        context.log("payments: paying \(total)")
        let result = await context.phase(seconds: max(context.options.duration, 60)) { index, session in
            for purchase in prepared[index] {
                _ = try await session.pay(purchase.token, reservation: purchase.reservation)
            }
        }
        let after = try await counters(context)
        let paid = result.recorder.routes["POST /api/payments"]?.statuses[201] ?? 0
        func delta(_ name: String) -> Double { (after[name] ?? 0) - (before[name] ?? 0) }
        let retried = delta("boxoffice_payments_retried_total")
        let attempts = delta("boxoffice_payment_retries_total")
        let exhausted = delta("boxoffice_payments_retries_exhausted_total")
        return [
            BenchPhaseReport(
                name: "payments", users: count, seconds: result.seconds, recorder: result.recorder,
                counters: [
                    "payments completed": Double(paid),
                    "payments retried at least once": retried,
                    "share of payments retried": Double(paid) + exhausted > 0 ? retried / (Double(paid) + exhausted) : 0,
                    "retried attempts (40001/40P01)": attempts,
                    "retried attempts per payment": paid > 0 ? attempts / Double(paid) : 0,
                    "payments out of attempts (503)": exhausted,
                ],
                notes: ["retries are the server's counters on /metrics: boxoffice_payments_retried_total, "
                    + "boxoffice_payment_retries_total, boxoffice_payments_retries_exhausted_total"])
        ]
    }

    /// The server's boxoffice_* counters on /metrics, each summed over its labels.
    static func counters(_ context: BenchContext) async throws -> [String: Double] {
        let text = try await context.prepare(users: 1) { _, session in
            let response = try await session.call("GET /metrics", .GET, "/metrics")
            return String(buffer: response.body)
        }[0]
        var sums: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("boxoffice_") {
            let name = line.prefix { $0 != " " && $0 != "{" }
            if let value = Double(line.split(separator: " ").last ?? "") { sums[String(name), default: 0] += value }
        }
        return sums
    }
}

extension BenchContext {
    /// The same context with only the first `users` connections.
    func limited(to users: Int) -> BenchContext {
        BenchContext(options: options, connections: Array(connections.prefix(users)), log: log)
    }
}
