import Logging
import Testing

@testable import BoxOffice

/// DATABASE_SESSION_URL and DB_PREPARED_STATEMENTS: which connection each
/// part of `serve` uses, and when the HTTP pool prepares its statements.
@Suite("Pooler configuration")
struct PoolerConfigTests {
    let direct = "host=db port=5432 dbname=boxoffice user=boxoffice_api"
    let pooled = "host=pgbouncer port=6432 dbname=boxoffice user=boxoffice_api"

    @Test("without DATABASE_SESSION_URL everything uses DATABASE_URL and statements are prepared")
    func oneURL() throws {
        let config = try Config(environment: ["DATABASE_URL": direct])
        #expect(config.preparedStatements)
        let target = try DatabaseTarget.resolve(config, logger: Logger(label: "test"))
        #expect(target.serveConninfo == direct)
        #expect(target.sessionConninfo == direct)
        #expect(target.adminConninfo == direct)
    }

    @Test("a DATABASE_SESSION_URL of its own means a pooler: unprepared by default, sessions and migrations direct")
    func pooler() throws {
        let config = try Config(environment: ["DATABASE_URL": pooled, "DATABASE_SESSION_URL": direct])
        #expect(!config.preparedStatements)
        let target = try DatabaseTarget.resolve(config, logger: Logger(label: "test"))
        #expect(target.serveConninfo == pooled)
        #expect(target.sessionConninfo == direct)
        #expect(target.adminConninfo == direct)
        let migrate = try Config(environment: [
            "DATABASE_URL": pooled, "DATABASE_SESSION_URL": direct, "MIGRATE_DATABASE_URL": "user=postgres",
        ])
        #expect(try DatabaseTarget.resolve(migrate, logger: Logger(label: "test")).adminConninfo == "user=postgres")
    }

    @Test("DB_PREPARED_STATEMENTS on and off win over auto; anything else is refused")
    func explicitSetting() throws {
        #expect(try Config(environment: ["DATABASE_URL": pooled, "DB_PREPARED_STATEMENTS": "off"]).preparedStatements == false)
        #expect(
            try Config(environment: ["DATABASE_URL": pooled, "DATABASE_SESSION_URL": direct, "DB_PREPARED_STATEMENTS": "on"])
                .preparedStatements)
        #expect(try Config(environment: ["DATABASE_URL": direct, "DATABASE_SESSION_URL": direct]).preparedStatements)
        #expect(throws: Config.Invalid.self) { try Config(environment: ["DB_PREPARED_STATEMENTS": "sometimes"]) }
        #expect(throws: Config.Invalid.self) { try Config(environment: ["DATABASE_SESSION_URL": direct]) }
    }

    @Test("the webhook pool goes where the HTTP pool goes, prepared as it is, under its timeouts")
    func webhookPool() throws {
        let webhook = ["WEBHOOK_URL": "http://127.0.0.1:9/hooks", "WEBHOOK_SECRET": WebhookReceiver.secret]
        let behindPooler = try Config(
            environment: webhook.merging([
                "DATABASE_URL": pooled, "DATABASE_SESSION_URL": direct, "DB_STATEMENT_TIMEOUT_SECONDS": "3",
            ]) { $1 })
        let pool = Server.webhookPool(behindPooler, target: try DatabaseTarget.resolve(behindPooler, logger: Logger(label: "test")))
        #expect(pool.conninfo == pooled)
        #expect(!pool.preparedStatements, "named statements through a transaction-mode pooler collide")
        #expect(pool.timeouts == behindPooler.timeouts)
        #expect(pool.timeouts?.statementSeconds == 3)
        let oneURL = try Config(environment: webhook.merging(["DATABASE_URL": direct]) { $1 })
        let directPool = Server.webhookPool(oneURL, target: try DatabaseTarget.resolve(oneURL, logger: Logger(label: "test")))
        #expect(directPool.conninfo == direct)
        #expect(directPool.preparedStatements)
        #expect(directPool.timeouts == oneURL.timeouts)
    }

    @Test("an unprepared pool sets no session state; a prepared one sets its timeouts")
    func sessionState() async throws {
        let database = try await TestDatabase.create()
        let show = "select current_setting('statement_timeout') || ' ' || current_setting('application_name')"
        let timeouts = Database.Timeouts(statementSeconds: 7, lockSeconds: 3, idleInTransactionSeconds: 11)
        let unprepared = Database(
            .init(conninfo: database.apiConninfo, poolSize: 1, timeouts: timeouts, preparedStatements: false))
        let unpreparedShows = try await unprepared.query(show).scalar
        #expect(unpreparedShows != "7s boxoffice")
        #expect(unpreparedShows?.hasSuffix(" boxoffice") == true)
        await unprepared.shutdown()
        let prepared = Database(.init(conninfo: database.apiConninfo, poolSize: 1, timeouts: timeouts))
        #expect(try await prepared.query(show).scalar == "7s boxoffice")
        await prepared.shutdown()
    }
}
