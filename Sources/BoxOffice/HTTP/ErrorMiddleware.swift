import HTTPTypes
import Hummingbird

/// Turns everything thrown below it into the API's JSON error (docs/api.md,
/// Errors), and tells an unknown path (404 NOT_FOUND) from a known path with
/// another method (405 METHOD_NOT_ALLOWED, with Allow).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let patterns: [(method: HTTPRequest.Method, segments: [Substring])]

    init(routes: [(method: HTTPRequest.Method, path: String)]) {
        patterns = routes.map { ($0.method, $0.path.split(separator: "/")) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let segments = request.uri.path.split(separator: "/")
            let allowed = patterns.filter { Self.matches($0.segments, segments) }.map(\.method.rawValue)
            if allowed.isEmpty {
                return try APIError(.notFound, "NOT_FOUND", "no route \(request.uri.path)").response(from: request, context: context)
            }
            var answer = APIError(.methodNotAllowed, "METHOD_NOT_ALLOWED", "\(request.method) is not allowed on \(request.uri.path)")
            answer.headers[.allow] = allowed.joined(separator: ", ")
            return try answer.response(from: request, context: context)
        } catch {
            return try APIError.from(error, logger: context.logger).response(from: request, context: context)
        }
    }

    private static func matches(_ pattern: [Substring], _ path: [Substring]) -> Bool {
        pattern.count == path.count && zip(pattern, path).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }
}
