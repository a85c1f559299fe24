import NIOConcurrencyHelpers

/// The waiting room alone: joins of new users into one concert's line (each
/// a 201, a new ticket), then status polls of those tickets, measured apart.
/// Run it against a server with the default QUEUE_ACTIVE_CAP so that most
/// tickets stay WAITING and each poll computes a position.
enum BenchQueue {
    static func run(_ context: BenchContext) async throws -> [BenchPhaseReport] {
        guard let concert = context.options.concerts?.first else {
            throw BenchFailure("queue needs --concerts ID (a concert for the line)")
        }
        let users = try await BenchUsers.supply(
            context, needed: context.options.userIDs == nil ? context.connections.count * 200 : 0, prefix: "queue")
        let cursor = NIOLockedValueBox(0)
        let tokens = NIOLockedValueBox<[String]>([])
        context.log("queue: joins of \(users.count) available users into concert \(concert)")
        let joins = await context.phase { _, session in
            while true {
                let next = cursor.withLockedValue { value -> Int in
                    defer { value += 1 }
                    return value
                }
                guard next < users.count else { return }
                if let ticket = try await session.join(user: users[next], concert: concert) {
                    tokens.withLockedValue { $0.append(ticket.token) }
                }
            }
        }
        let all = tokens.withLockedValue { $0 }
        guard !all.isEmpty else { throw BenchFailure("no join succeeded") }
        context.log("queue: polls of \(all.count) tickets")
        let count = context.connections.count
        let polls = await context.phase { index, session in
            let mine = stride(from: index % all.count, to: all.count, by: count).map { all[$0] }
            while true {
                for token in mine { _ = try await session.ticket(token) }
            }
        }
        return [
            BenchPhaseReport(
                name: "queue joins", users: count, seconds: joins.seconds, recorder: joins.recorder,
                counters: ["users available": Double(users.count)]),
            BenchPhaseReport(
                name: "queue status polls", users: count, seconds: polls.seconds, recorder: polls.recorder,
                counters: ["tickets polled": Double(all.count)]),
        ]
    }
}

/// Users for the scenarios that need many: the --user-ids range when given
/// (made in SQL beforehand, much faster), else created over HTTP now, as
/// setup that is not measured.
enum BenchUsers {
    static func supply(_ context: BenchContext, needed: Int, prefix: String) async throws -> [Int64] {
        if let range = context.options.userIDs { return Array(range) }
        let count = context.connections.count
        let each = (needed + count - 1) / count
        context.log("\(prefix): creating \(each * count) users over HTTP (setup, not measured)")
        let made = try await context.prepare { index, session in
            var ids: [Int64] = []
            for n in 0..<each {
                guard let id = try await session.createUser(BenchContext.name(prefix, index, n)) else {
                    throw BenchFailure("POST /api/users failed during setup")
                }
                ids.append(id)
            }
            return ids
        }
        return made.flatMap { $0 }
    }
}
