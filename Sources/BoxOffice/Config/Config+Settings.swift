/// Every environment variable `Config` reads, with its default and what it
/// does, in one list: `boxoffice serve --help` prints it, docs/operations.md
/// has the same rows at length, and a test checks all three agree.
extension Config {
    public struct Setting: Sendable {
        public var name: String
        public var defaultValue: String
        public var meaning: String
    }

    public static let settings: [Setting] = [
        Setting(
            name: "DATABASE_URL", defaultValue: "unset",
            meaning:
                "libpq connection string of the server's pool (as boxoffice_api); unset: the embedded cluster under BOXOFFICE_HOME"
        ),
        Setting(
            name: "DATABASE_SESSION_URL", defaultValue: "DATABASE_URL",
            meaning: "a direct connection (never through a transaction-mode pooler) for the scheduler's lock and runs and the queue listener"),
        Setting(
            name: "DB_PREPARED_STATEMENTS", defaultValue: "auto",
            meaning: "off: the HTTP pool sends unprepared statements and keeps no session state (PgBouncer in transaction mode); auto: off when DATABASE_SESSION_URL differs from DATABASE_URL"),
        Setting(
            name: "DB_DRIVER", defaultValue: "nonblocking",
            meaning: "how the server's pools drive libpq: threads (blocking calls, a thread per connection) or nonblocking (asynchronous calls, one polling thread per pool)"),
        Setting(
            name: "MIGRATE_DATABASE_URL", defaultValue: "DATABASE_SESSION_URL",
            meaning: "connection of migrate, seed, jobs, audit and serve's migrate-on-start (the schema owner)"),
        Setting(name: "HTTP_HOST", defaultValue: "127.0.0.1", meaning: "address the HTTP server listens on"),
        Setting(
            name: "HTTP_PORT", defaultValue: "8080",
            meaning: "port the HTTP server listens on (0: any free port, printed on start)"),
        Setting(name: "DB_POOL_SIZE", defaultValue: "8", meaning: "libpq connections of the HTTP pool"),
        Setting(
            name: "DB_POOL_WAIT_MS", defaultValue: "5000",
            meaning: "how long a request waits for a connection before 503 UNAVAILABLE"),
        Setting(name: "HOLD_SECONDS", defaultValue: "300", meaning: "how long a held seat stays its user's"),
        Setting(name: "ACTIVE_TOKEN_SECONDS", defaultValue: "600", meaning: "how long an admitted (ACTIVE) token may be used"),
        Setting(
            name: "WAITING_IDLE_SECONDS", defaultValue: "300",
            meaning: "a WAITING ticket not polled for this long loses its place"),
        Setting(name: "QUEUE_ACTIVE_CAP", defaultValue: "100", meaning: "ACTIVE tokens per concert at once"),
        Setting(name: "ADMIT_INTERVAL_SECONDS", defaultValue: "1", meaning: "schedule of the queue_admit job (1 to 59)"),
        Setting(name: "CHARGE_MAX", defaultValue: "1000000", meaning: "largest single charge, in won"),
        Setting(name: "BALANCE_MAX", defaultValue: "1000000000", meaning: "largest balance a user may hold"),
        Setting(
            name: "USER_KEYS", defaultValue: "required",
            meaning: "required: joining the queue needs the user's API key; optional: a join without Authorization may name its userId"),
        Setting(
            name: "MAX_HOLDS_PER_TOKEN", defaultValue: "4",
            meaning: "live holds one token may have at once; the next is 409 HOLD_LIMIT"),
        Setting(
            name: "NEW_USERS_PER_MINUTE", defaultValue: "0",
            meaning: "admission rate per concert on top of the cap (0: the cap alone)"),
        Setting(
            name: "DB_STATEMENT_TIMEOUT_SECONDS", defaultValue: "5",
            meaning: "statement_timeout of every HTTP-pool session (0: none)"),
        Setting(
            name: "DB_LOCK_TIMEOUT_SECONDS", defaultValue: "2",
            meaning: "lock_timeout of every HTTP-pool session; a request waiting longer on a lock gets 503"),
        Setting(
            name: "DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS", defaultValue: "10",
            meaning: "idle_in_transaction_session_timeout of every HTTP-pool session"),
        Setting(
            name: "CONCERT_LIST_CACHE_MS", defaultValue: "1000",
            meaning: "how long one answer of GET /api/concerts serves everyone (0: no sharing)"),
        Setting(name: "SCHEDULER", defaultValue: "on", meaning: "off: this instance runs no jobs"),
        Setting(name: "JOB_TIMEOUT_SECONDS", defaultValue: "30", meaning: "statement timeout of each job run"),
        Setting(name: "INSTANCE_NAME", defaultValue: "<host>-<pid>", meaning: "this instance's name in the job runs"),
        Setting(name: "BOXOFFICE_HOME", defaultValue: "./.boxoffice", meaning: "where the embedded cluster lives"),
        Setting(
            name: "BOXOFFICE_SQL_DIR", defaultValue: "./sql or the nearest sql/ above",
            meaning: "the migrations, procedures and indexes to apply"),
        Setting(
            name: "BOXOFFICE_PUBLIC_DIR", defaultValue: "./public or the nearest public/ above",
            meaning: "the fans' page served at /, read once at start"),
        Setting(
            name: "WEBHOOK_URL", defaultValue: "unset",
            meaning: "where the scheduler's leader POSTs every outbox event (http:// only); unset: no webhooks"),
        Setting(
            name: "WEBHOOK_SECRET", defaultValue: "unset",
            meaning: "the whsec_ signing secret, or two separated by a space or comma during a rotation; required with WEBHOOK_URL"),
        Setting(
            name: "WEBHOOK_TIMEOUT_MS", defaultValue: "10000",
            meaning: "how long one delivery may take before it counts as failed"),
        Setting(
            name: "WEBHOOK_MAX_IN_FLIGHT", defaultValue: "8",
            meaning: "deliveries under way at once"),
        Setting(
            name: "WEBHOOK_MAX_ATTEMPTS", defaultValue: "15",
            meaning: "attempts before an event is dead-lettered"),
        Setting(
            name: "WEBHOOK_RETRY_MS", defaultValue: "5000",
            meaning: "the first retry's delay; each next one doubles"),
        Setting(
            name: "WEBHOOK_RETRY_MAX_SECONDS", defaultValue: "3600",
            meaning: "the longest delay between two attempts"),
        Setting(name: "LOG_LEVEL", defaultValue: "notice", meaning: "trace, debug, info, notice, warning, error or critical"),
    ]
}
