import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// An error answer: `{"error": {"code", "message", "sqlstate"?}}` with its
/// status. Database error text never reaches a client unless it is one of
/// ours (class CR), whose DETAIL is written for clients.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var sqlstate: String?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, sqlstate: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.sqlstate = sqlstate
    }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "BAD_REQUEST", message) }

    public static func unavailable(_ message: String = "the service is busy; try again shortly") -> APIError {
        var error = APIError(.serviceUnavailable, "UNAVAILABLE", message)
        error.headers[.retryAfter] = "1"
        return error
    }

    /// Maps anything thrown while serving a request to its answer.
    public static func from(_ error: any Error, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as PostgresError:
            if let sqlstate = error.sqlstate, let known = ErrorCodes.bySQLState[sqlstate] {
                return APIError(known.status, known.code, error.detail ?? error.message, sqlstate: sqlstate)
            }
            if ErrorCodes.isUnavailable(error.sqlstate) || error.connectionLost {
                logger.warning("database unavailable", metadata: ["db.sqlstate": "\(error.sqlstate ?? "-")", "error": "\(error.message)"])
                return .unavailable()
            }
            logger.error("unexpected database error", metadata: ["db.sqlstate": "\(error.sqlstate ?? "-")", "error": "\(error)"])
            return APIError(.internalServerError, "INTERNAL", "internal error")
        case is PoolUnavailableError:
            logger.warning("database unavailable", metadata: ["error": "\(error)"])
            return .unavailable()
        case is CancellationError:
            // The request was cancelled (the server shutting down, its client
            // gone): not a fault, and worth a retry elsewhere.
            logger.info("request cancelled")
            return .unavailable("the request was cancelled")
        case let error as HTTPParserError:
            // A body that does not parse as HTTP (a bad chunk size, a chunk
            // longer than it said): the client's mistake, not ours.
            return .badRequest("the request is not valid HTTP/1.1 (\(error))")
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, "PAYLOAD_TOO_LARGE", "the request body is over 65536 bytes")
        case let error as HTTPError where error.status == .contentTooLarge:
            return APIError(.contentTooLarge, "PAYLOAD_TOO_LARGE", "the request body is over 65536 bytes")
        case let error as HTTPError:
            // Hummingbird's own refusals (a malformed request line, headers
            // too large, ...), under the API's error codes.
            switch error.status.code {
            case 404: return APIError(.notFound, "NOT_FOUND", error.body ?? "no such route")
            case 405: return APIError(.methodNotAllowed, "METHOD_NOT_ALLOWED", error.body ?? "method not allowed")
            case 400..<500: return APIError(error.status, "BAD_REQUEST", error.body ?? error.status.reasonPhrase)
            default:
                logger.error("unexpected HTTP error", metadata: ["error": "\(error)"])
                return APIError(.internalServerError, "INTERNAL", "internal error")
            }
        default:
            logger.error("unexpected error", metadata: ["error": "\(error)"])
            return APIError(.internalServerError, "INTERNAL", "internal error")
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var error: [String: String] = ["code": code, "message": message]
        if let sqlstate { error["sqlstate"] = sqlstate }
        let data = try JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys])
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
