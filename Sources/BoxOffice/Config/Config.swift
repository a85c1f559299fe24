import Foundation

/// Everything configurable, read from the environment in this one place and
/// validated at start; every key, with its default, is in docs/operations.md
/// (Configuration). Secrets (the database URL) are never logged.
public struct Config: Sendable {
    public var databaseURL: String?
    /// The connection used to migrate; defaults to `sessionDatabaseURL`,
    /// then `databaseURL`.
    public var migrateDatabaseURL: String?
    /// A direct connection (never through a transaction-mode pooler) for
    /// what needs a session that outlives a transaction: the scheduler's
    /// leader lock and its job runs, and the queue listener's LISTEN.
    /// Defaults to `databaseURL`.
    public var sessionDatabaseURL: String?
    /// Whether the HTTP pool prepares its statements (DB_PREPARED_STATEMENTS).
    public var preparedStatements: Bool
    /// How the server's pools drive libpq (DB_DRIVER).
    public var databaseDriver: Database.Driver
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
    /// USER_KEYS: true (required) or false (optional).
    public var userKeysRequired: Bool
    public var maxHoldsPerToken: Int
    public var newUsersPerMinute: Int
    /// The policy values this environment names explicitly, as
    /// app.settings rows (name to value): what serve and migrate write when
    /// connected as the owner, and what an instance connected as
    /// boxoffice_api compares with the database. A value left unset keeps
    /// the database's (its default, or what a DBA set with api.setting_set).
    public var policyFromEnvironment: [String: String]
    /// Timeouts of every HTTP-pool session (`Database.Timeouts`).
    public var statementTimeoutSeconds: Int
    public var lockTimeoutSeconds: Int
    public var idleInTransactionTimeoutSeconds: Int
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
    /// Webhook delivery (docs/webhooks.md): on when `WEBHOOK_URL` is set, which
    /// then needs `WEBHOOK_SECRET` (one `whsec_` secret, or two during a
    /// rotation, separated by a space or a comma; never logged).
    public var webhook: WebhookDeliverer.Settings?

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
        sessionDatabaseURL = environment["DATABASE_SESSION_URL"].flatMap { $0.isEmpty ? nil : $0 }
        // auto: a session URL that differs from DATABASE_URL says the HTTP
        // pool goes through a transaction-mode pooler, so no prepared statements.
        switch (environment["DB_PREPARED_STATEMENTS"] ?? "auto").lowercased() {
        case "auto", "": preparedStatements = sessionDatabaseURL == nil || sessionDatabaseURL == databaseURL
        case "on", "true", "1": preparedStatements = true
        case "off", "false", "0": preparedStatements = false
        case let other: throw Invalid(description: "DB_PREPARED_STATEMENTS=\(other): expected on, off or auto")
        }
        let driver = (environment["DB_DRIVER"] ?? "").lowercased()
        if driver.isEmpty {
            databaseDriver = .nonblocking
        } else if let chosen = Database.Driver(rawValue: driver) {
            databaseDriver = chosen
        } else {
            throw Invalid(description: "DB_DRIVER=\(driver): expected threads or nonblocking")
        }
        if sessionDatabaseURL != nil && databaseURL == nil {
            throw Invalid(description: "DATABASE_SESSION_URL is set but DATABASE_URL is not: the embedded cluster needs neither")
        }
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
        maxHoldsPerToken = try integer("MAX_HOLDS_PER_TOKEN", 4, 1...50)
        newUsersPerMinute = try integer("NEW_USERS_PER_MINUTE", 0, 0...1_000_000)
        switch (environment["USER_KEYS"] ?? "required").lowercased() {
        case "required", "": userKeysRequired = true
        case "optional": userKeysRequired = false
        case let other: throw Invalid(description: "USER_KEYS=\(other): expected required or optional")
        }
        statementTimeoutSeconds = try integer("DB_STATEMENT_TIMEOUT_SECONDS", 5, 0...3600)
        lockTimeoutSeconds = try integer("DB_LOCK_TIMEOUT_SECONDS", 2, 0...3600)
        idleInTransactionTimeoutSeconds = try integer("DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS", 10, 0...3600)
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
        publicDirectory = environment["BOXOFFICE_PUBLIC_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? StaticFiles.folder()
        instanceName = environment["INSTANCE_NAME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        logLevel = environment["LOG_LEVEL"] ?? "notice"
        policyFromEnvironment = [:]
        let all = policy
        for (name, variable) in Self.policyVariables where !(environment[variable] ?? "").isEmpty {
            policyFromEnvironment[name] = all[name]
        }
        if let url = environment["WEBHOOK_URL"], !url.isEmpty {
            guard let secrets = environment["WEBHOOK_SECRET"], !secrets.isEmpty else {
                throw Invalid(description: "WEBHOOK_URL is set but WEBHOOK_SECRET is not: webhooks are always signed")
            }
            do {
                var webhook = WebhookDeliverer.Settings(endpoint: try WebhookEndpoint(url: url), signer: try WebhookSigner(secrets: secrets))
                webhook.timeout = .milliseconds(try integer("WEBHOOK_TIMEOUT_MS", 10_000, 100...300_000))
                webhook.maxInFlight = try integer("WEBHOOK_MAX_IN_FLIGHT", 8, 1...256)
                webhook.maxAttempts = try integer("WEBHOOK_MAX_ATTEMPTS", 15, 1...100)
                webhook.retrySeconds = Double(try integer("WEBHOOK_RETRY_MS", 5_000, 0...3_600_000)) / 1000
                webhook.maxRetrySeconds = Double(try integer("WEBHOOK_RETRY_MAX_SECONDS", 3600, 1...86_400))
                self.webhook = webhook
            } catch let error as WebhookEndpoint.Invalid {
                throw Invalid(description: "WEBHOOK_URL: \(error)")
            } catch let error as WebhookSigner.InvalidSecret {
                throw Invalid(description: "WEBHOOK_SECRET: \(error)")  // the secret itself is never shown
            }
        }
    }

    /// Every policy value of this configuration, as app.settings rows.
    public var policy: [String: String] {
        [
            "hold_seconds": String(holdSeconds),
            "active_token_seconds": String(activeTokenSeconds),
            "waiting_idle_seconds": String(waitingIdleSeconds),
            "queue_active_cap": String(queueActiveCap),
            "admit_interval_seconds": String(admitIntervalSeconds),
            "charge_max": String(chargeMax),
            "balance_max": String(balanceMax),
            "user_keys": userKeysRequired ? "required" : "optional",
            "max_holds_per_token": String(maxHoldsPerToken),
            "new_users_per_minute": String(newUsersPerMinute),
        ]
    }

    /// The environment variable of each app.settings row.
    public static let policyVariables: [String: String] = [
        "hold_seconds": "HOLD_SECONDS", "active_token_seconds": "ACTIVE_TOKEN_SECONDS",
        "waiting_idle_seconds": "WAITING_IDLE_SECONDS", "queue_active_cap": "QUEUE_ACTIVE_CAP",
        "admit_interval_seconds": "ADMIT_INTERVAL_SECONDS", "charge_max": "CHARGE_MAX", "balance_max": "BALANCE_MAX",
        "user_keys": "USER_KEYS", "max_holds_per_token": "MAX_HOLDS_PER_TOKEN",
        "new_users_per_minute": "NEW_USERS_PER_MINUTE",
    ]

    /// The HTTP pool's session timeouts.
    public var timeouts: Database.Timeouts {
        Database.Timeouts(
            statementSeconds: statementTimeoutSeconds, lockSeconds: lockTimeoutSeconds,
            idleInTransactionSeconds: idleInTransactionTimeoutSeconds)
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
