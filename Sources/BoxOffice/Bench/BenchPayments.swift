import Foundation

/// Payments alone. Setup prepares `--count` purchases (a new user each,
/// admitted, charged, holding a distinct seat of the given concerts); then
/// every virtual user pays its own as fast as it can. The share of payments
/// that needed a retry comes from boxoffice_payment_retries_total on
/// /metrics, read before and after (the server counts each retried attempt).
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
        let before = try await retries(context)
        context.log("payments: paying \(total)")
        let result = await context.phase(seconds: max(context.options.duration, 60)) { index, session in
            for purchase in prepared[index] {
                _ = try await session.pay(purchase.token, reservation: purchase.reservation)
            }
        }
        let after = try await retries(context)
        let paid = result.recorder.routes["POST /api/payments"]?.statuses[201] ?? 0
        return [
            BenchPhaseReport(
                name: "payments", users: count, seconds: result.seconds, recorder: result.recorder,
                counters: [
                    "payments completed": Double(paid),
                    "payment retries (40001/40P01)": after - before,
                    "retries per payment": paid > 0 ? (after - before) / Double(paid) : 0,
                ],
                notes: ["retries are read from boxoffice_payment_retries_total on /metrics: one per retried attempt"])
        ]
    }

    /// The server's boxoffice_payment_retries_total, summed over its labels.
    static func retries(_ context: BenchContext) async throws -> Double {
        let text = try await context.prepare(users: 1) { _, session in
            let response = try await session.call("GET /metrics", .GET, "/metrics")
            return String(buffer: response.body)
        }[0]
        return text.split(separator: "\n")
            .filter { $0.hasPrefix("boxoffice_payment_retries_total ") || $0.hasPrefix("boxoffice_payment_retries_total{") }
            .compactMap { Double($0.split(separator: " ").last ?? "") }
            .reduce(0, +)
    }
}

extension BenchContext {
    /// The same context with only the first `users` connections.
    func limited(to users: Int) -> BenchContext {
        BenchContext(options: options, connections: Array(connections.prefix(users)), log: log)
    }
}
