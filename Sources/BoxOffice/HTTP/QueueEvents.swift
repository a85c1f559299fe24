import Foundation
import HTTPTypes
import Hummingbird
import ServiceLifecycle

/// `GET /api/queue/tokens/me/events`: a server-sent Ticket event whenever the
/// ticket changes, and at least every 15 s. Token errors are answered as JSON
/// before the stream starts; once the ticket stops being live the stream
/// sends an `error` event with the same JSON and ends. What to read and when
/// is the QueueNotifier's: a stream itself only writes what it is told. It
/// also ends at once when the server begins a graceful shutdown (the HTTP
/// server waits for open responses, so a stream left open would hold up
/// SIGTERM); the client reconnects, to another instance.
enum QueueEvents {
    static func stream(_ call: Call) async throws -> Response {
        guard let notifier = call.notifier else { throw APIError.unavailable("event streams are not running on this instance") }
        let token = call.token()
        let first = try await notifier.firstRead(token: token)
        let concertId =
            (try? JSONSerialization.jsonObject(with: Data(first.ticket.utf8)) as? [String: Any])?["concertId"] as? Int64 ?? 0
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: "event: ticket\ndata: \(first.ticket)\n\n"))
            guard let token else { return try await writer.finish(nil) }
            let (id, updates) = notifier.subscribe(token: token, concertId: concertId, place: first.place)
            defer { notifier.unsubscribe(id) }
            try await withGracefulShutdownHandler {
                for await update in updates {
                    switch update {
                    case .ticket(let ticket):
                        try await writer.write(ByteBuffer(string: "event: ticket\ndata: \(ticket)\n\n"))
                    case .failed(let error):
                        let data =
                            (try? JSONSerialization.data(
                                withJSONObject: ["error": ["code": error.code, "message": error.message]], options: [.sortedKeys]))
                            ?? Data()
                        try await writer.write(
                            ByteBuffer(string: "event: error\ndata: \(String(decoding: data, as: UTF8.self))\n\n"))
                        if error.status != .serviceUnavailable { return }
                    }
                }
            } onGracefulShutdown: {
                notifier.unsubscribe(id)
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: body)
    }
}
