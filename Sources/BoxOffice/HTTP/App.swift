import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging

/// Builds the HTTP application: the route table, the operational routes, the
/// fans' page (the files of `publicDirectory`, see StaticFiles) and the error
/// middleware.
public enum App {
    /// `concertListTTL`: how long one answer of `GET /api/concerts` serves
    /// every caller (CONCERT_LIST_CACHE_MS; zero asks the database each time).
    public static func router(
        database: Database, migrator: Migrator, notifier: QueueNotifier?, concertListTTL: Duration = .zero,
        publicDirectory: String? = nil
    ) -> Router<APIRequestContext> {
        Metrics.bootstrap()
        let concertListCache = BodyCache(ttl: concertListTTL)
        let page = StaticFiles(folder: publicDirectory ?? StaticFiles.folder())
        let router = Router(context: APIRequestContext.self)
        let operational: [(method: HTTPRequest.Method, path: String)] =
            [(.get, "/health"), (.get, "/ready"), (.get, "/metrics")] + page.files.keys.sorted().map { (.get, $0) }
        // Metrics outside the error middleware, so that they count the status
        // the client got (a 404 as a 404), not the error thrown inside.
        router.add(middleware: RequestMetrics())
        router.add(middleware: ErrorMiddleware(routes: Routes.table.map { ($0.method, $0.path) } + operational + APIDocs.routes))

        for route in Routes.table {
            let path = RouterPath(route.path.replacing(/\{(\w+)\}/) { ":" + $0.1 })
            router.on(path, method: route.method) { request, context in
                let body = request.method == .post ? try await request.body.collect(upTo: Call.maxBody) : nil
                let call = Call(
                    request: request, context: context, database: database, notifier: notifier,
                    concertListCache: concertListCache, body: body, lane: route.lane)
                guard let client = context.client else { return try await route.handler(call) }
                return try await Self.cancellingOnHangUp(client, context: context) { try await route.handler(call) }
            }
        }

        for path in page.files.keys.sorted() {
            router.get(RouterPath(path)) { request, _ in
                guard let response = page.response(path, request: request) else { throw HTTPError(.notFound) }
                return response
            }
        }

        router.get("/health") { _, _ in
            Call.json(.ok, #"{"status": "ok"}"#)
        }
        router.get("/ready") { _, context in
            let expected: (migration: String, procedures: String)
            do {
                expected = try migrator.expectedVersion()
            } catch {
                context.logger.error("cannot read the SQL this instance ships", metadata: ["error": "\(error)"])
                throw APIError.unavailable("this instance cannot read its SQL files")
            }
            let actual: String
            do {
                actual = try await database.query("select api.schema_version()::text", lane: .purchase).scalar ?? ""
            } catch is PoolUnavailableError {
                throw APIError.unavailable("no free database connection: the instance is busy")
            } catch {
                throw APIError.unavailable("database not reachable or schema not installed")
            }
            let version = (try? JSONSerialization.jsonObject(with: Data(actual.utf8))) as? [String: String] ?? [:]
            guard version["migration"] == expected.migration, version["procedures"] == expected.procedures else {
                throw APIError.unavailable("database schema is not current: run boxoffice migrate")
            }
            return Call.json(.ok, #"{"status": "ready", "migration": "\#(expected.migration)"}"#)
        }
        APIDocs.add(to: router, root: APIDocs.root(sqlDirectory: migrator.directory))
        router.get("/metrics") { _, _ in
            // the registry's series, then the per-concert ones (one database read)
            var buffer = ByteBuffer(bytes: Metrics.registry.emitToBuffer())
            buffer.writeString(await OnsaleMetrics.text(database: database))
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: buffer))
        }
        return router
    }

    /// The HTTP/1.1 server to run `router` with: Hummingbird's, with a
    /// `HangUpHandler` in every connection, so that a request whose client
    /// hangs up is cancelled (`APIRequestContext`).
    public static var server: HTTPServerBuilder {
        .http1(configuration: .init(additionalChannelHandlers: [HangUpHandler()]))
    }

    /// Runs a route's handler, cancelled when its client hangs up: the
    /// statement it waits on is cancelled on the server (PQcancel), and the
    /// pool gets the connection back at once instead of when a timeout ends
    /// it. Nobody reads the answer then; it is a 503 (57014, or the
    /// cancellation itself, is no server error), logged as a hang-up.
    static func cancellingOnHangUp(
        _ client: ClientConnection, context: APIRequestContext, _ handler: @escaping @Sendable () async throws -> Response
    ) async throws -> Response {
        do {
            return try await client.cancellingOnHangUp(handler)
        } catch where client.isGone && (error is CancellationError || (error as? PostgresError)?.sqlstate == "57014") {
            context.logger.info("client hung up: request cancelled", metadata: ["error": "\(error)"])
            throw APIError.unavailable("the client closed the connection; the request was cancelled")
        }
    }
}
