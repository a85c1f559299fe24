/// An error reported by PostgreSQL or by libpq, with the fields of the
/// server's error report. `sqlstate` is nil when libpq itself failed (for
/// example the connection broke before the server answered).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public var sqlstate: String?
    public var message: String
    public var detail: String?
    public var hint: String?
    /// True when the connection is unusable afterwards.
    public var connectionLost: Bool

    public init(sqlstate: String?, message: String, detail: String? = nil, hint: String? = nil, connectionLost: Bool = false) {
        self.sqlstate = sqlstate
        self.message = message
        self.detail = detail
        self.hint = hint
        self.connectionLost = connectionLost
    }

    /// Serialization failure or deadlock: the whole transaction may be retried.
    public var isRetryable: Bool { sqlstate == "40001" || sqlstate == "40P01" }

    public var description: String {
        var text = "\(sqlstate ?? "-----"): \(message)"
        if let detail { text += " (\(detail))" }
        return text
    }
}

/// The pool could not hand out a connection in time, or could not open one.
public struct PoolUnavailableError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "database unavailable: \(reason)" }
}
