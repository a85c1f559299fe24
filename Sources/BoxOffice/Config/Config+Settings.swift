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
            name: "MIGRATE_DATABASE_URL", defaultValue: "DATABASE_URL",
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
            name: "CONCERT_LIST_CACHE_MS", defaultValue: "1000",
            meaning: "how long one answer of GET /api/concerts serves everyone (0: no sharing)"),
        Setting(name: "SCHEDULER", defaultValue: "on", meaning: "off: this instance runs no jobs"),
        Setting(name: "JOB_TIMEOUT_SECONDS", defaultValue: "30", meaning: "statement timeout of each job run"),
        Setting(name: "INSTANCE_NAME", defaultValue: "<host>-<pid>", meaning: "this instance's name in the job runs"),
        Setting(name: "BOXOFFICE_HOME", defaultValue: "./.boxoffice", meaning: "where the embedded cluster lives"),
        Setting(
            name: "BOXOFFICE_SQL_DIR", defaultValue: "./sql or the nearest sql/ above",
            meaning: "the migrations, procedures and indexes to apply"),
        Setting(name: "LOG_LEVEL", defaultValue: "notice", meaning: "trace, debug, info, notice, warning, error or critical"),
    ]
}
