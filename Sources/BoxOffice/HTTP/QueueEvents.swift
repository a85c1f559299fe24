import Foundation
import HTTPTypes
import Hummingbird
import ServiceLifecycle

/// `GET /api/queue/tokens/me/events`: a server-sent Ticket event whenever the
/// ticket changes, and at least every 15 s. Token errors are answered as JSON
/// before the stream starts; once the ticket stops being live the stream
/// sends an `error` event with the same JSON and ends. It also ends, within a
/// tick, when the server begins a graceful shutdown (the HTTP server waits for
/// open responses, so a stream left open would hold up SIGTERM); the client's
/// EventSource reconnects, to another instance.
enum QueueEvents {
    static let heartbeat: Duration = .seconds(15)
    static let fallbackRefresh: Duration = .seconds(5)
    static let tick: Duration = .milliseconds(200)

    static func stream(_ call: Call) async throws -> Response {
        let token = call.token()
        let sql = "select api.queue_status(token => $1::uuid)::text"
        let first = try await call.database.query(sql, [token]).scalar ?? "null"
        let concertId = (try? JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])?["concertId"] as? Int64 ?? 0
        let database = call.database
        let notifier = call.notifier
        let logger = call.logger
        let body = ResponseBody { writer in
            var last = first
            var lastWrite = ContinuousClock.now
            var lastQuery = ContinuousClock.now
            var generation = notifier?.generation(of: concertId) ?? 0
            try await writer.write(ByteBuffer(string: "event: ticket\ndata: \(first)\n\n"))
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                try await Task.sleep(for: tick)
                let now = ContinuousClock.now
                let current = notifier?.generation(of: concertId) ?? 0
                guard current != generation || now - lastQuery >= fallbackRefresh || now - lastWrite >= heartbeat else {
                    continue
                }
                generation = current
                lastQuery = now
                let ticket: String
                do {
                    ticket = try await database.query(sql, [token]).scalar ?? "null"
                } catch {
                    let answer = APIError.from(error, logger: logger)
                    let data =
                        (try? JSONSerialization.data(withJSONObject: ["error": ["code": answer.code, "message": answer.message]]))
                        ?? Data()
                    try await writer.write(ByteBuffer(string: "event: error\ndata: \(String(decoding: data, as: UTF8.self))\n\n"))
                    if answer.status == .serviceUnavailable { continue }
                    break
                }
                if ticket != last || now - lastWrite >= heartbeat {
                    try await writer.write(ByteBuffer(string: "event: ticket\ndata: \(ticket)\n\n"))
                    last = ticket
                    lastWrite = now
                }
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: body)
    }
}
