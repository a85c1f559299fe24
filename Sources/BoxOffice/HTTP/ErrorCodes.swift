import HTTPTypes

/// The one place where a SQLSTATE becomes an HTTP status and an API error
/// code. Every CR code raised in sql/ is listed here and in the README; a test
/// fails when one is missing.
public enum ErrorCodes {
    public static let bySQLState: [String: (status: HTTPResponse.Status, code: String)] = [
        "CR001": (.badRequest, "BAD_REQUEST"),
        "CR101": (.notFound, "USER_NOT_FOUND"),
        "CR102": (.notFound, "CONCERT_NOT_FOUND"),
        "CR103": (.notFound, "DATE_NOT_FOUND"),
        "CR104": (.notFound, "RESERVATION_NOT_FOUND"),
        "CR105": (.notFound, "JOB_NOT_FOUND"),
        "CR108": (.notFound, "EVENT_NOT_FOUND"),
        "CR201": (.conflict, "SEAT_TAKEN"),
        "CR202": (.conflict, "RESERVATION_NOT_PAYABLE"),
        "CR203": (.conflict, "BALANCE_LIMIT"),
        "CR204": (.conflict, "IDEMPOTENCY_KEY_REUSED"),
        "CR205": (.gone, "HOLD_EXPIRED"),
        "CR206": (.conflict, "HOLD_LIMIT"),
        "CR207": (.conflict, "SALE_ALREADY_OPEN"),
        "CR300": (.unauthorized, "TOKEN_MISSING"),
        "CR301": (.unauthorized, "TOKEN_INVALID"),
        "CR302": (.gone, "TOKEN_EXPIRED"),
        "CR303": (.forbidden, "QUEUE_WAITING"),
        "CR304": (.forbidden, "TOKEN_FORBIDDEN"),
        "CR305": (.unauthorized, "API_KEY_MISSING"),
        "CR306": (.unauthorized, "API_KEY_INVALID"),
        "CR401": (.init(code: 402, reasonPhrase: "Payment Required"), "INSUFFICIENT_BALANCE"),
    ]

    /// SQLSTATEs that mean the database is overloaded or unreachable, not
    /// that the request was wrong: 503 with Retry-After.
    static func isUnavailable(_ sqlstate: String?) -> Bool {
        guard let sqlstate else { return true }  // libpq lost the connection
        return sqlstate.hasPrefix("08")  // connection exception
            || sqlstate.hasPrefix("53")  // insufficient resources, too many connections
            || sqlstate.hasPrefix("57")  // operator intervention, statement timeout or cancel, shutdown
            || sqlstate == "55P03"  // lock_timeout: a lock held elsewhere for too long
            || sqlstate == "25P03"  // idle_in_transaction_session_timeout
            || sqlstate == "40001" || sqlstate == "40P01"  // retries used up
    }
}
