import CLibPQ
import Foundation

/// One libpq connection, only ever used by one task at a time. Its
/// `execute` and `run` block, so they run on a thread of the pool's thread
/// pool, never on an event loop; its `query` sends the statement without
/// blocking and waits for the answer on a `Poller` (the non-blocking driver).
public final class Connection: @unchecked Sendable {
    private var conn: OpaquePointer?
    private var prepared: [String: String] = [:]
    /// PQcancel's handle of the open session, the number of the current
    /// caller's use (0: nothing may be cancelled now), the last number given
    /// and the use a cancel was asked for; `cancel(use:)` sets them from
    /// another thread.
    private let cancelLock = NSLock()
    private var cancelHandle: OpaquePointer?
    private var cancellableUse: UInt64 = 0
    private var lastUse: UInt64 = 0
    private var cancelledUse: UInt64 = 0
    public let conninfo: String
    /// Statements run on every new session (the policy settings).
    public let setup: [(sql: String, params: [String?])]
    /// libpq connection parameters added to `conninfo` (keepalives, timeouts).
    public let options: [String: String]
    /// Whether `execute` prepares each statement once per session (named
    /// protocol-level statements, reused by text) or sends it unnamed every
    /// time. A transaction-mode pooler (PgBouncer 1.18) hands each transaction
    /// whichever server session is free, so a statement this connection
    /// prepared may be missing there, or another client's "s1" may exist
    /// already: through one, statements must not be prepared.
    public let preparesStatements: Bool
    /// Whether the session is in libpq's non-blocking mode, as `query`
    /// needs. The blocking calls work the same in either mode.
    let nonblocking: Bool

    /// libpq settings every connection gets unless its conninfo names them
    /// (or, for connect_timeout, PGCONNECT_TIMEOUT is set): a database that
    /// does not answer fails the connect in 5 s instead of TCP's two minutes,
    /// and a peer that vanished is noticed in about 25 s, whether the session
    /// sits idle (keepalives) or waits for the acknowledgement of what it sent
    /// (tcp_user_timeout), instead of after hours. libpq ignores the TCP ones
    /// on a unix socket.
    public static let defaults: [String: String] = [
        "connect_timeout": "5", "keepalives": "1",
        "keepalives_idle": "10", "keepalives_interval": "5", "keepalives_count": "3",
        "tcp_user_timeout": "25000",
    ]

    /// libpq settings for a long-lived connection whose death must be noticed
    /// within seconds, not TCP's default two hours: the scheduler's leader
    /// lock and the NOTIFY listener. These are the client's side only: they
    /// tell this process that the server is gone. For the server to end a
    /// vanished leader's session (and free its lock), the leader's session
    /// also sets the server's keepalives and idle_session_timeout
    /// (`Scheduler`, bench/scheduler/RESULTS.md: 4.5 to 6.2 s measured).
    public static let watchful: [String: String] = [
        "connect_timeout": "5", "keepalives": "1",
        "keepalives_idle": "5", "keepalives_interval": "1", "keepalives_count": "3",
    ]

    /// A connection that opens on first use (`connect()` or `reconnectIfBroken()`).
    /// `conninfo` is a URL or key=value string; `options` add to it.
    public convenience init(
        conninfo: String, setup: [(sql: String, params: [String?])] = [], options: [String: String] = [:],
        preparesStatements: Bool = true
    ) {
        self.init(conninfo: conninfo, setup: setup, options: options, preparesStatements: preparesStatements, nonblocking: false)
    }

    init(
        conninfo: String, setup: [(sql: String, params: [String?])], options: [String: String],
        preparesStatements: Bool, nonblocking: Bool
    ) {
        self.conninfo = conninfo
        self.setup = setup
        self.options = options
        self.preparesStatements = preparesStatements
        self.nonblocking = nonblocking
    }

    /// Opens a connection now.
    public static func open(conninfo: String, setup: [(sql: String, params: [String?])] = []) throws(PostgresError) -> Connection {
        let connection = Connection(conninfo: conninfo, setup: setup)
        try connection.connect()
        return connection
    }

    /// Opens the session (closing any old one) and runs the setup statements.
    public func connect() throws(PostgresError) {
        close()
        // libpq reads the arrays in order and the last value of a keyword
        // wins; dbname with expand_dbname = 1 takes the whole URL or
        // key=value string. So the defaults come first (what conninfo says
        // overrides them) and the options last (they override conninfo).
        // A service file (service= or PGSERVICE) fills only the keywords still
        // unset, so with one the defaults would win over it: leave them out.
        let service = getenv("PGSERVICE") != nil || conninfo.contains("service=")
        let defaults = service ? [:] : Self.defaults.filter { $0.key != "connect_timeout" || getenv("PGCONNECT_TIMEOUT") == nil }
        let parameters = defaults.sorted { $0.key < $1.key } + [("dbname", conninfo)] + options.sorted { $0.key < $1.key }
        let keywords = parameters.map(\.0)
        let values = parameters.map(\.1)
        let fresh = withCStrings(keywords) { k in
            withCStrings(values) { v in
                PQconnectdbParams(k + [nil], v + [nil], 1)
            }
        }
        guard PQstatus(fresh) == CONNECTION_OK else {
            let message = Connection.errorText(fresh) ?? "connection failed"
            PQfinish(fresh)
            throw PostgresError(sqlstate: nil, message: message, connectionLost: true)
        }
        conn = fresh
        cancelLock.lock()
        cancelHandle = PQgetCancel(fresh)
        cancelLock.unlock()
        // Server NOTICEs (CREATE ... IF NOT EXISTS and the like) are not errors.
        PQsetNoticeProcessor(fresh, { _, _ in }, nil)
        for statement in setup {
            try execute(statement.sql, statement.params)
        }
        if nonblocking, PQsetnonblocking(fresh, 1) != 0 {
            throw PostgresError(
                sqlstate: nil, message: Connection.errorText(fresh) ?? "PQsetnonblocking failed", connectionLost: true)
        }
    }

    /// Opens a new session when there is none or the old one broke, for
    /// example because its backend was terminated while it sat idle.
    public func reconnectIfBroken() throws(PostgresError) {
        if !isHealthy(checkInput: true) { try connect() }
    }

    deinit {
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        if let conn { PQfinish(conn) }
    }

    public func close() {
        cancelLock.lock()
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        cancelHandle = nil
        cancelLock.unlock()
        if let conn { PQfinish(conn) }
        conn = nil
        prepared.removeAll()
    }

    /// Allows `cancel(use:)` for the caller that starts using the connection
    /// now; returns the number of its use, which the cancel must name.
    public func beginCancellableUse() -> UInt64 {
        cancelLock.lock()
        defer { cancelLock.unlock() }
        lastUse += 1
        cancellableUse = lastUse
        return lastUse
    }

    /// Stops `cancel(use:)`. It waits for a cancel under way, and a cancel
    /// that comes later names a use that is over, so a late cancel never
    /// reaches the next caller's statement.
    public func endCancellableUse() {
        cancelLock.lock()
        cancellableUse = 0
        cancelledUse = 0
        cancelLock.unlock()
    }

    /// Asks the server to cancel the statement running on this session
    /// (PQcancel), from any thread, if `use` is still the current use; the
    /// use's later `execute` calls then fail with 57014 without being sent
    /// (PostgreSQL ignores a cancel that reaches a backend between two
    /// statements). Returns false when there is nothing to cancel or the
    /// request could not be sent. PQcancel opens a connection of its own and
    /// waits for the server's answer: never call it on an event loop.
    @discardableResult
    public func cancel(use: UInt64) -> Bool {
        cancelLock.lock()
        defer { cancelLock.unlock() }
        guard use != 0, use == cancellableUse, let cancelHandle else { return false }
        cancelledUse = use
        var message = [CChar](repeating: 0, count: 256)
        return PQcancel(cancelHandle, &message, Int32(message.count)) == 1
    }

    private var cancelRequested: Bool {
        cancelLock.lock()
        defer { cancelLock.unlock() }
        return cancelledUse != 0 && cancelledUse == cancellableUse
    }

    /// Leaves the session outside any transaction: rolls back one a caller
    /// left open (or failed in), and closes the session when that ROLLBACK
    /// fails or the session is in no state to take it (a statement still
    /// running, a broken connection). A closed session reopens on next use.
    public func endTransactionOrClose() {
        guard let conn else { return }
        switch PQtransactionStatus(conn) {
        case PQTRANS_IDLE:
            return
        case PQTRANS_INTRANS, PQTRANS_INERROR:
            do {
                try run(script: "rollback")
                if PQtransactionStatus(conn) != PQTRANS_IDLE { close() }
            } catch {
                close()
            }
        default:
            close()
        }
    }

    /// True when the session is open and outside any transaction, with no
    /// statement running.
    var isIdle: Bool {
        conn.map { PQtransactionStatus($0) == PQTRANS_IDLE } ?? true
    }

    /// True when there is no session: never opened, or closed (`close()`,
    /// `endTransactionOrClose()`); the next `reconnectIfBroken()` opens one.
    var isClosed: Bool { conn == nil }

    /// True while libpq considers the connection usable. `checkInput` first
    /// reads whatever the server sent without blocking, so a backend that was
    /// terminated while this connection sat idle is noticed before it is used.
    public func isHealthy(checkInput: Bool = false) -> Bool {
        guard let conn else { return false }
        if checkInput, PQtransactionStatus(conn) == PQTRANS_IDLE {
            // A terminated backend sends an error and closes the socket;
            // read what is there, then peek: zero bytes means end of stream.
            if PQconsumeInput(conn) == 0 { return false }
            var byte: UInt8 = 0
            if recv(PQsocket(conn), &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0 { return false }
        }
        return PQstatus(conn) == CONNECTION_OK
    }

    /// The value libpq uses for a connection keyword (`connect_timeout`,
    /// `keepalives_idle`, ...) on the open session.
    public func parameter(_ keyword: String) -> String? {
        guard let conn, let options = PQconninfo(conn) else { return nil }
        defer { PQconninfoFree(options) }
        var option = options
        while let name = option.pointee.keyword {
            if String(cString: name) == keyword { return option.pointee.val.map { String(cString: $0) } }
            option += 1
        }
        return nil
    }

    /// The backend's process id, for tests that terminate it.
    public var backendPID: Int32 { conn.map { PQbackendPID($0) } ?? 0 }

    /// Runs one statement with bound text parameters, prepared once per
    /// connection and reused by its text; or, when `preparesStatements` is
    /// false, parsed afresh as the unnamed statement (parse, bind and execute
    /// in one round trip, which a transaction-mode pooler passes through).
    @discardableResult
    public func execute(_ sql: String, _ params: [String?] = []) throws(PostgresError) -> QueryResult {
        guard let conn else { throw PostgresError(sqlstate: nil, message: "connection is closed", connectionLost: true) }
        if cancelRequested { throw PostgresError(sqlstate: "57014", message: "canceling statement due to user request") }
        guard preparesStatements else {
            return try take(withCStrings(params) { PQexecParams(conn, sql, Int32(params.count), nil, $0, nil, nil, 0) })
        }
        let name: String
        if let existing = prepared[sql] {
            name = existing
        } else {
            name = "s\(prepared.count + 1)"
            try take(PQprepare(conn, name, sql, 0, nil))
            prepared[sql] = name
        }
        return try take(withCStrings(params) { PQexecPrepared(conn, name, Int32(params.count), $0, nil, nil, 0) })
    }

    /// `execute` without blocking a thread: the statement is sent with
    /// libpq's asynchronous calls and its answer read by `poller` when the
    /// socket is ready. Same statements, same modes (prepared once per
    /// session, or unnamed), same results and errors as `execute`.
    @discardableResult
    func query(_ sql: String, _ params: [String?], on poller: Poller) async throws -> QueryResult {
        guard let conn else { throw PostgresError(sqlstate: nil, message: "connection is closed", connectionLost: true) }
        if cancelRequested { throw PostgresError(sqlstate: "57014", message: "canceling statement due to user request") }
        let count = Int32(params.count)
        guard preparesStatements else {
            return try take(await roundTrip(conn, poller) { conn in
                withCStrings(params) { PQsendQueryParams(conn, sql, count, nil, $0, nil, nil, 0) }
            })
        }
        let name: String
        if let existing = prepared[sql] {
            name = existing
        } else {
            name = "s\(prepared.count + 1)"
            try take(await roundTrip(conn, poller) { PQsendPrepare($0, name, sql, 0, nil) })
            prepared[sql] = name
            // a cancel that came during the PREPARE is not seen by the next statement
            if cancelRequested { throw PostgresError(sqlstate: "57014", message: "canceling statement due to user request") }
        }
        return try take(await roundTrip(conn, poller) { conn in
            withCStrings(params) { PQsendQueryPrepared(conn, name, count, $0, nil, nil, 0) }
        })
    }

    /// Sends with `send` (a `PQsend...` call), flushes what the socket takes
    /// now, and waits on `poller` for the statement's result.
    private func roundTrip(
        _ conn: OpaquePointer, _ poller: Poller, _ send: (OpaquePointer) -> Int32
    ) async throws(PostgresError) -> OpaquePointer? {
        precondition(nonblocking, "query needs a connection in non-blocking mode")
        var flush: Int32 = -1
        if send(conn) == 1 { flush = PQflush(conn) }
        if flush >= 0, let result = await poller.results(of: conn, flushing: flush == 1) {
            return result
        }
        prepared.removeAll()
        throw PostgresError(sqlstate: nil, message: Connection.errorText(conn) ?? "connection lost", connectionLost: true)
    }

    /// Runs SQL text as is, with the simple query protocol: several statements
    /// at once (migration files), no parameters, nothing prepared.
    /// Returns the result of the last statement. Unlike `execute`, it runs
    /// after a cancel too: the pool's BEGIN, COMMIT and ROLLBACK use it.
    @discardableResult
    public func run(script sql: String) throws(PostgresError) -> QueryResult {
        guard let conn else { throw PostgresError(sqlstate: nil, message: "connection is closed", connectionLost: true) }
        return try take(PQexec(conn, sql))
    }

    /// Waits up to `timeout` seconds for NOTIFY messages on a LISTENing
    /// connection and returns the channel and payload of each.
    public func waitForNotifications(timeout: Double) throws(PostgresError) -> [(channel: String, payload: String)] {
        guard let conn else { throw PostgresError(sqlstate: nil, message: "connection is closed", connectionLost: true) }
        var notes = drainNotifications()
        if !notes.isEmpty { return notes }
        var fds = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
        let ready = poll(&fds, 1, Int32(timeout * 1000))
        if ready > 0 {
            if PQconsumeInput(conn) == 0 {
                throw PostgresError(sqlstate: nil, message: Connection.errorText(conn) ?? "connection lost", connectionLost: true)
            }
            notes = drainNotifications()
        }
        return notes
    }

    private func drainNotifications() -> [(channel: String, payload: String)] {
        var notes: [(String, String)] = []
        while let note = PQnotifies(conn) {
            notes.append((String(cString: note.pointee.relname), String(cString: note.pointee.extra)))
            PQfreemem(note)
        }
        return notes
    }

    /// Checks a statement's result (`check`), reads it, and frees it.
    @discardableResult
    private func take(_ result: OpaquePointer?) throws(PostgresError) -> QueryResult {
        defer { PQclear(result) }
        try check(result)
        return Connection.read(result)
    }

    private func check(_ result: OpaquePointer?) throws(PostgresError) {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return
        default:
            func field(_ code: Character) -> String? {
                guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
                return String(cString: value)
            }
            let lost = PQstatus(conn) != CONNECTION_OK
            if lost { prepared.removeAll() }
            throw PostgresError(
                sqlstate: field("C"),
                message: field("M") ?? Connection.errorText(conn) ?? "query failed",
                detail: field("D"),
                hint: field("H"),
                connectionLost: lost)
        }
    }

    private static func read(_ result: OpaquePointer?) -> QueryResult {
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        var columns: [String] = []
        columns.reserveCapacity(Int(columnCount))
        for c in 0..<columnCount { columns.append(String(cString: PQfname(result, c))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(Int(rowCount))
        for r in 0..<rowCount {
            var row: [String?] = []
            row.reserveCapacity(Int(columnCount))
            for c in 0..<columnCount {
                row.append(PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c)))
            }
            rows.append(row)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return QueryResult(columns: columns, rows: rows, affectedRows: affected)
    }

    private static func errorText(_ conn: OpaquePointer?) -> String? {
        guard let conn, let text = PQerrorMessage(conn) else { return nil }
        let message = String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
        return message.isEmpty ? nil : message
    }
}

/// Calls body with a C array of the strings (nil stays a null pointer: SQL NULL).
private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeMutableBufferPointer { buffer in
        body(buffer.map { UnsafePointer($0) })
    }
}
