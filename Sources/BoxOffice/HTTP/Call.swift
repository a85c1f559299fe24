import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers

/// One request on its way to one `api` function: reads and checks the shape
/// of what the client sent (400 and the token header's 401s), binds it as
/// parameters, and writes the function's jsonb out as the response body.
struct Call: Sendable {
    static let maxBody = 65_536

    let request: Request
    let context: APIRequestContext
    let database: Database
    let notifier: QueueNotifier?
    let concertListCache: BodyCache
    let body: ByteBuffer?
    /// The pool lane of this route's database calls (`Routes.Route.lane`).
    var lane: Database.Lane = .standard

    var logger: Logger { context.logger }

    /// The JSON body, decoded strictly: malformed JSON, a missing field or a
    /// wrong type (a string for a number, a fraction for an id) is a 400.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard let body, body.readableBytes > 0 else { throw APIError.badRequest("a JSON body is required") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: body))
        } catch let DecodingError.keyNotFound(key, _) {
            throw APIError.badRequest("field \(key.stringValue) is required")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            if context.codingPath.isEmpty { throw APIError.badRequest("the body must be a JSON object") }
            throw APIError.badRequest("field \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw APIError.badRequest("field \(context.codingPath.map(\.stringValue).joined(separator: ".")) has an invalid value")
        } catch {
            // Foundation reports a number that is not a whole number in range
            // (1.5, 2^63) for an integer field here too, without its field.
            throw APIError.badRequest("the body is not valid JSON, or a number in it is not a whole number in range")
        }
    }

    /// The queue token from `Authorization: Bearer <token>` or a bare
    /// `Authorization: <token>`, as the function's `token` argument. Every
    /// token check is the SQL function's, made after it has checked its other
    /// parameters (a malformed request is a 400 before any token error): no
    /// header is passed as NULL (CR300, TOKEN_MISSING), and a value that is
    /// not a UUID as the nil UUID, which no ticket can have (gen_random_uuid
    /// sets version bits), so it is CR301, TOKEN_INVALID.
    func token() -> String? {
        guard let value = credential() else { return nil }
        return (UUID(uuidString: value) ?? Self.noSuchToken).uuidString.lowercased()
    }

    /// The user's API key from `Authorization: Bearer <apiKey>` (or a bare
    /// `Authorization: <apiKey>`), for a join; nil when absent. Whether it
    /// is anyone's key is the SQL's check (by its hash), so a wrong key and a
    /// malformed one are both 401 API_KEY_INVALID.
    func apiKey() -> String? {
        credential()
    }

    /// The credential of the Authorization header: its value without a
    /// `Bearer` scheme (any case), trimmed; nil when there is none, so that
    /// `Authorization: Bearer` alone is a missing credential, not a wrong one.
    private func credential() -> String? {
        guard var value = request.headers[.authorization]?.trimmingCharacters(in: .whitespaces) else { return nil }
        let words = value.split(maxSplits: 1, whereSeparator: \.isWhitespace)
        if words.first?.lowercased() == "bearer" {
            value = words.dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        }
        return value.isEmpty ? nil : value
    }

    static let noSuchToken = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    /// The Idempotency-Key header: 1 to 255 printable ASCII characters (the
    /// space included; HTTP has already trimmed it off both ends). The
    /// SQL checks it too, for DBAs; checking the shape here keeps the API's order
    /// of errors (a malformed request is 400 before any token error).
    func idempotencyKey() throws -> String? {
        guard let key = request.headers[.idempotencyKey] else { return nil }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x20...0x7e).contains($0) }) else {
            throw APIError.badRequest("Idempotency-Key must be 1 to 255 printable characters")
        }
        return key
    }

    /// An integer id from the path; anything else is a 400.
    func id(_ name: String) throws -> String {
        guard let text = context.parameters.get(name), let value = Int64(text), value > 0 else {
            throw APIError.badRequest("\(name) in the path must be a positive integer")
        }
        return String(value)
    }

    /// A whole-number query parameter, or nil when absent.
    func queryInteger(_ name: String) throws -> String? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let value = Int32(text) else { throw APIError.badRequest("\(name) must be a whole number") }
        return String(value)
    }

    /// Calls a function that returns the body; answers with `status`.
    func respond(_ status: HTTPResponse.Status, _ sql: String, _ params: [String?]) async throws -> Response {
        let result = try await database.query(sql, params, lane: lane)
        return Self.json(status, result.scalar ?? "null")
    }

    /// A public body that is the same for every caller, from `cache` while it
    /// is fresh (see BodyCache), with a matching `Cache-Control`.
    func respondShared(_ cache: BodyCache, _ sql: String) async throws -> Response {
        let text = try await cache.body { [database] in try await database.query(sql).scalar ?? "null" }
        var response = Self.json(.ok, text)
        let seconds = cache.ttl.components.seconds
        response.headers[.cacheControl] = seconds > 0 ? "public, max-age=\(seconds)" : "no-cache"
        return response
    }

    /// Calls a function returning `(status integer, body jsonb)`: the routes
    /// whose answer is 201 or 200 depending on what the database found.
    func respondWithStatus(_ sql: String, _ params: [String?]) async throws -> Response {
        let result = try await database.query(sql, params, lane: lane)
        return Self.answer(result)
    }

    /// A join or a poll: the query answers `(status, Ticket, seconds)`, and
    /// the seconds (api.queue_poll_seconds: how long before the next poll
    /// can tell a WAITING ticket anything new; null once ACTIVE) go out as
    /// `X-Poll-Interval`.
    func respondTicket(_ sql: String, _ params: [String?]) async throws -> Response {
        let result = try await database.query(sql, params, lane: lane)
        var response = Self.answer(result)
        if let row = result.rows.first, row.count == 3, let seconds = row[2] {
            response.headers[.pollInterval] = seconds
        }
        return response
    }

    /// Calls a function in a SERIALIZABLE transaction, retried on 40001/40P01
    /// (then 503 UNAVAILABLE when every attempt failed).
    func respondSerializable(_ status: HTTPResponse.Status, _ sql: String, _ params: [String?]) async throws -> Response {
        let result: QueryResult
        let retries = NIOLockedValueBox(0)
        do {
            // 40 attempts with the back-off capped at 100 ms: a payment of a
            // fan at the front gives up only after seconds of conflicts, which
            // do not happen while the database is up (BENCHMARKS.md).
            result = try await database.withRetryingTransaction(attempts: 40, lane: lane, onRetry: { _, attempt in
                retries.withLockedValue { $0 += 1 }
                if attempt == 1 { Metrics.paymentsRetried.increment() }
            }) { connection in
                try connection.execute(sql, params)
            }
        } catch {
            Self.countRetries(retries.withLockedValue { $0 }, concert: "unknown")
            if let error = error as? PostgresError, error.isRetryable { Metrics.paymentsFailedRetries.increment() }
            throw error
        }
        let body = result.scalar ?? "null"
        Self.countRetries(retries.withLockedValue { $0 }, concert: Self.concertId(of: body) ?? "unknown")
        return Self.json(status, body)
    }

    /// `concert` is read only when there were retries: the answer is parsed
    /// for its concertId only then, not for every payment.
    private static func countRetries(_ count: Int, concert: @autoclosure () -> String) {
        if count > 0 { Metrics.paymentRetries(concert: concert()).increment(by: Int64(count)) }
    }

    /// The `concertId` of an answer's JSON object (a Payment), as text.
    static func concertId(of body: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let id = object["concertId"] as? NSNumber
        else { return nil }
        return id.stringValue
    }

    /// Calls a function that returns nothing; answers 204.
    func respondNoContent(_ sql: String, _ params: [String?]) async throws -> Response {
        try await database.query(sql, params, lane: lane)
        return Response(status: .noContent)
    }

    /// A `(status, body, ...)` row as the response.
    static func answer(_ result: QueryResult) -> Response {
        let row = result.rows.first
        let status = row?.first.flatMap { $0 }.flatMap(Int.init) ?? 200
        let body = row.flatMap { $0.count > 1 ? $0[1] : nil } ?? "null"
        return json(HTTPResponse.Status(code: status), body)
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let pollInterval = Self("X-Poll-Interval")!
}
