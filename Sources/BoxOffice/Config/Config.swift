import Foundation

/// Everything configurable, read from the environment in this one place and
/// validated at start (API.md §1, plus the few operational keys documented in
/// the README). Secrets (the database URL) are never logged.
public struct Config: Sendable {
    public var databaseURL: String?
    /// The connection used to migrate; defaults to `databaseURL`.
    public var migrateDatabaseURL: String?
    public var httpHost: String
    public var httpPort: Int
    public var poolSize: Int
    public var poolWaitMilliseconds: Int
    public var holdSeconds: Int
    public var activeTokenSeconds: Int
    public var waitingIdleSeconds: Int
    public var queueActiveCap: Int
    public var admitIntervalSeconds: Int
    public var chargeMax: Int
    public var balanceMax: Int
    public var schedulerEnabled: Bool
    /// How long one answer of the public concert list is served to everyone.
    public var concertListCacheMilliseconds: Int
    public var jobTimeoutSeconds: Int
    /// Where the embedded cluster lives when `databaseURL` is unset.
    public var home: String
    /// The folder holding migrations/, procedures/ and indexes/.
    public var sqlDirectory: String
    /// The fans' page (index.html, app.js, style.css) served at `/`.
    public var publicDirectory: String
    public var instanceName: String
    public var logLevel: String

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func integer(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let text = environment[key], !text.isEmpty else { return fallback }
            guard let value = Int(text), range.contains(value) else {
                throw Invalid(description: "\(key)=\(text): expected a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        databaseURL = environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        migrateDatabaseURL = environment["MIGRATE_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        httpHost = environment["HTTP_HOST"] ?? "127.0.0.1"
        httpPort = try integer("HTTP_PORT", 8080, 0...65535)
        poolSize = try integer("DB_POOL_SIZE", 8, 1...512)
        poolWaitMilliseconds = try integer("DB_POOL_WAIT_MS", 5000, 1...600_000)
        holdSeconds = try integer("HOLD_SECONDS", 300, 1...86_400)
        activeTokenSeconds = try integer("ACTIVE_TOKEN_SECONDS", 600, 1...86_400)
        waitingIdleSeconds = try integer("WAITING_IDLE_SECONDS", 300, 3...86_400)
        queueActiveCap = try integer("QUEUE_ACTIVE_CAP", 100, 1...1_000_000)
        admitIntervalSeconds = try integer("ADMIT_INTERVAL_SECONDS", 1, 1...59)
        chargeMax = try integer("CHARGE_MAX", 1_000_000, 1...1_000_000_000)
        balanceMax = try integer("BALANCE_MAX", 1_000_000_000, 1...1_000_000_000)
        jobTimeoutSeconds = try integer("JOB_TIMEOUT_SECONDS", 30, 1...3600)
        concertListCacheMilliseconds = try integer("CONCERT_LIST_CACHE_MS", 1000, 0...60_000)
        switch (environment["SCHEDULER"] ?? "on").lowercased() {
        case "on", "true", "1", "": schedulerEnabled = true
        case "off", "false", "0": schedulerEnabled = false
        case let other: throw Invalid(description: "SCHEDULER=\(other): expected on or off")
        }
        let cwd = FileManager.default.currentDirectoryPath
        home = environment["BOXOFFICE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? cwd + "/.boxoffice"
        sqlDirectory = environment["BOXOFFICE_SQL_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? Config.findSQLDirectory(from: cwd)
        publicDirectory = StaticFiles.folder(environment: environment)
        instanceName = environment["INSTANCE_NAME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        logLevel = environment["LOG_LEVEL"] ?? "notice"
    }

    /// The policy the SQL functions read, as `boxoffice.<name>` session settings.
    public var sessionSettings: [String: String] {
        [
            "hold_seconds": String(holdSeconds),
            "active_token_seconds": String(activeTokenSeconds),
            "waiting_idle_seconds": String(waitingIdleSeconds),
            "queue_active_cap": String(queueActiveCap),
            "admit_interval_seconds": String(admitIntervalSeconds),
            "charge_max": String(chargeMax),
            "balance_max": String(balanceMax),
        ]
    }

    /// `sql/` in the working directory or the nearest folder above it.
    static func findSQLDirectory(from start: String) -> String {
        var url = URL(fileURLWithPath: start)
        for _ in 0..<6 {
            let candidate = url.appendingPathComponent("sql/migrations").path
            if FileManager.default.fileExists(atPath: candidate) { return url.appendingPathComponent("sql").path }
            url.deleteLastPathComponent()
        }
        return start + "/sql"
    }
}
