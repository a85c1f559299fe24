import Dispatch
import HTTPTypes
import Hummingbird
import Metrics
import NIOConcurrencyHelpers

/// Request metrics for `/metrics`, in place of Hummingbird's
/// `MetricsMiddleware`, under the same names: `hb_requests` and
/// `http_server_request_duration` per route, method and status,
/// `http_server_active_requests` per method, and `hb_request_errors` per
/// route, method and `error_type` (the status). Hummingbird's middleware made
/// the error counter of every route and status it saw, successes included,
/// so `/metrics` listed `hb_request_errors{error_type="200"}`; here only an
/// answer of 400 or more is an error (the error middleware inside has turned
/// every thrown error into such an answer already), and a series exists only
/// once something was counted in it.
struct RequestMetrics<Context: RequestContext>: RouterMiddleware {
    private struct Key: Hashable {
        let route: String
        let method: HTTPRequest.Method
        let status: HTTPResponse.Status
    }

    private struct Series: Sendable {
        let requests: Counter
        let duration: Timer
        let errors: Counter?
    }

    private let series = NIOLockedValueBox<[Key: Series]>([:])
    private let active = NIOLockedValueBox<[HTTPRequest.Method: Meter]>([:])

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let meter = activeMeter(request.method)
        meter.increment()
        do {
            var response = try await next(request, context)
            let key = Key(route: context.endpointPath ?? "Unknown", method: request.method, status: response.status)
            // counted once the body is written (an event stream: when it ends)
            let body = response.body
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer {
                    record(key, since: start)
                    meter.decrement()
                }
                try await body.write(writer)
            }
            return response
        } catch {
            // only what the error middleware did not answer (it answers everything it knows)
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            record(Key(route: context.endpointPath ?? "NotFound", method: request.method, status: status), since: start)
            meter.decrement()
            throw error
        }
    }

    private func record(_ key: Key, since start: UInt64) {
        let metrics = series.withLockedValue { all in
            if let existing = all[key] { return existing }
            let dimensions = [
                ("http.route", key.route), ("http.request.method", key.method.description),
                ("http.response.status_code", key.status.code.description),
            ]
            let made = Series(
                requests: Counter(label: "hb.requests", dimensions: dimensions),
                duration: Timer(label: "http.server.request.duration", dimensions: dimensions, preferredDisplayUnit: .seconds),
                errors: key.status.code >= 400
                    ? Counter(label: "hb.request.errors", dimensions: [
                        ("http.route", key.route), ("http.request.method", key.method.description),
                        ("error.type", key.status.code.description),
                    ]) : nil)
            all[key] = made
            return made
        }
        metrics.requests.increment()
        metrics.duration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
        metrics.errors?.increment()
    }

    private func activeMeter(_ method: HTTPRequest.Method) -> Meter {
        active.withLockedValue { all in
            if let meter = all[method] { return meter }
            let meter = Meter(label: "http.server.active_requests", dimensions: [("http.request.method", method.description)])
            all[method] = meter
            return meter
        }
    }
}
