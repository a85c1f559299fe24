import HTTPTypes
import Hummingbird

/// The whole HTTP surface: every path, the one `api` function it calls, and
/// what it reads from the request. A join (POST /api/queue/tokens) carries
/// the user's API key in Authorization instead of a queue token. Token rules (exists, live, admitted, this
/// concert, owner) are checked by the function itself, in the same call.
/// openapi.yaml and docs/api.md's route table document exactly these routes (ContractTests compares them).
enum Routes {
    struct Route: Sendable {
        var method: HTTPRequest.Method
        /// OpenAPI-style path, `{name}` for parameters.
        var path: String
        /// The pool lane of its database calls: `purchase` for the seats and
        /// money routes, which admitted fans use, `line` for the polls and
        /// leaves of fans in line (see `Database.Lane`). The event stream's
        /// reads are QueueNotifier's, which makes them in `line` too.
        var lane: Database.Lane = .standard
        var handler: @Sendable (Call) async throws -> Response
    }

    static let table: [Route] = [
        Route(method: .post, path: "/api/users") { call in
            let body = try call.decode(UserCreateBody.self)
            guard !body.name.unicodeScalars.contains("\u{0}") else { throw APIError.badRequest("name must not contain NUL") }
            return try await call.respond(.created, "select api.user_create(name => $1)::text", [body.name])
        },
        Route(method: .post, path: "/api/queue/tokens") { call in
            let body = try call.decode(QueueJoinBody.self)
            return try await call.respondTicket(
                """
                select status, body::text, api.queue_poll_seconds(body)
                from api.queue_join(user_id => $1::bigint, concert_id => $2::bigint, api_key => $3)
                """,
                [body.userId.map(String.init), String(body.concertId), call.apiKey()])
        },
        Route(method: .get, path: "/api/queue/tokens/me", lane: .line) { call in
            try await call.respondTicket(
                "select 200, ticket::text, api.queue_poll_seconds(ticket) from api.queue_status(token => $1::uuid) ticket",
                [call.token()])
        },
        Route(method: .delete, path: "/api/queue/tokens/me", lane: .line) { call in
            try await call.respondNoContent("select api.queue_leave(token => $1::uuid)", [call.token()])
        },
        Route(method: .get, path: "/api/queue/tokens/me/events", lane: .line) { call in
            try await QueueEvents.stream(call)
        },
        Route(method: .get, path: "/api/concerts") { call in
            try await call.respondShared(call.concertListCache, "select api.concert_list()::text")
        },
        Route(method: .get, path: "/api/concerts/{concertId}/dates", lane: .purchase) { call in
            let concertId = try call.id("concertId")
            return try await call.respond(
                .ok, "select api.concert_dates(token => $1::uuid, concert_id => $2::bigint)::text",
                [call.token(), concertId])
        },
        Route(method: .get, path: "/api/concerts/{concertId}/dates/{dateId}/seats", lane: .purchase) { call in
            let concertId = try call.id("concertId")
            let dateId = try call.id("dateId")
            return try await call.respond(
                .ok, "select api.seat_list(token => $1::uuid, concert_id => $2::bigint, date_id => $3::bigint)::text",
                [call.token(), concertId, dateId])
        },
        Route(method: .post, path: "/api/reservations", lane: .purchase) { call in
            let body = try call.decode(ReservationBody.self)
            let key = try call.idempotencyKey()
            return try await call.respondWithStatus(
                """
                select status, body::text from api.seat_hold(token => $1::uuid, concert_id => $2::bigint,
                  date_id => $3::bigint, seat_no => $4::integer, user_id => $5::bigint, idempotency_key => $6)
                """,
                [call.token(), String(body.concertId), String(body.dateId), String(body.seatNo),
                 body.userId.map(String.init), key])
        },
        Route(method: .get, path: "/api/reservations/{reservationId}", lane: .purchase) { call in
            let reservationId = try call.id("reservationId")
            return try await call.respond(
                .ok, "select api.reservation_get(token => $1::uuid, reservation_id => $2::bigint)::text",
                [call.token(), reservationId])
        },
        Route(method: .delete, path: "/api/reservations/{reservationId}", lane: .purchase) { call in
            let reservationId = try call.id("reservationId")
            return try await call.respond(
                .ok, "select api.reservation_cancel(token => $1::uuid, reservation_id => $2::bigint)::text",
                [call.token(), reservationId])
        },
        Route(method: .get, path: "/api/balance", lane: .purchase) { call in
            try await call.respond(.ok, "select api.balance_get(token => $1::uuid)::text", [call.token()])
        },
        Route(method: .post, path: "/api/balance/charge", lane: .purchase) { call in
            let body = try call.decode(ChargeBody.self)
            let key = try call.idempotencyKey()
            return try await call.respond(
                .ok,
                """
                select api.balance_charge(token => $1::uuid, amount => $2::bigint, user_id => $3::bigint,
                  idempotency_key => $4)::text
                """,
                [call.token(), String(body.amount), body.userId.map(String.init), key])
        },
        Route(method: .get, path: "/api/balance/history", lane: .purchase) { call in
            let limit = try call.queryInteger("limit")
            return try await call.respond(
                .ok, "select api.balance_history(token => $1::uuid, max_entries => coalesce($2::integer, 50))::text",
                [call.token(), limit])
        },
        Route(method: .post, path: "/api/payments", lane: .purchase) { call in
            let body = try call.decode(PaymentBody.self)
            let key = try call.idempotencyKey()
            return try await call.respondSerializable(
                .created,
                """
                select api.payment_create(token => $1::uuid, reservation_id => $2::bigint, user_id => $3::bigint,
                  idempotency_key => $4)::text
                """,
                [call.token(), String(body.reservationId), body.userId.map(String.init), key])
        },
        Route(method: .get, path: "/api/payments", lane: .purchase) { call in
            try await call.respond(.ok, "select api.payment_list(token => $1::uuid)::text", [call.token()])
        },
    ]
}

struct UserCreateBody: Decodable { var name: String }
struct QueueJoinBody: Decodable { var userId: Int64?; var concertId: Int64 }
struct ReservationBody: Decodable { var concertId: Int64; var dateId: Int64; var seatNo: Int32; var userId: Int64? }
struct ChargeBody: Decodable { var amount: Int64; var userId: Int64? }
struct PaymentBody: Decodable { var reservationId: Int64; var userId: Int64? }
