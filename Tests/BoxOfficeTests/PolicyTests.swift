import Foundation
import Logging
import Testing

@testable import BoxOffice

/// The policy lives in the database: the owner's start writes the
/// environment's values, the server's role cannot, and the database wins.
@Suite("Policy in the database")
struct PolicyTests {
    static let logger = Logger(label: "test")

    @Test("connected as the owner, start writes the values the environment names and leaves the rest")
    func ownerWrites() async throws {
        let database = try await TestDatabase.create()
        try database.scalar("select api.setting_set('charge_max', '777')")
        let config = try Config(environment: ["HOLD_SECONDS": "120", "USER_KEYS": "optional", "ADMIT_INTERVAL_SECONDS": "3"])
        let owner = try database.admin()
        defer { owner.close() }
        try Policy.reconcile(config, on: owner, logger: Self.logger)
        let values = try Policy.values(on: owner)
        #expect(values["hold_seconds"] == "120")
        #expect(values["user_keys"] == "optional")
        #expect(values["charge_max"] == "777", "a value the environment leaves unset keeps the DBA's")
        #expect(try database.scalar("select schedule from app.jobs where name = 'queue_admit'") == "3 seconds")
        // The pool's timeouts, as boxoffice_api's defaults in this database.
        let defaults = try database.scalar("""
            select array_to_string(s.setconfig, ',') from pg_db_role_setting s
            where s.setdatabase = (select oid from pg_database where datname = current_database())
              and s.setrole = 'boxoffice_api'::regrole
            """) ?? ""
        #expect(defaults.contains("statement_timeout=5s") && defaults.contains("lock_timeout=2s")
                && defaults.contains("idle_in_transaction_session_timeout=10s"), "\(defaults)")
        let api = try Connection.open(conninfo: database.apiConninfo)
        defer { api.close() }
        #expect(try api.execute("show lock_timeout").scalar == "2s", "a new boxoffice_api session starts with them, no SET needed")
    }

    @Test("connected as boxoffice_api, start changes nothing: the database's value applies")
    func serverRoleCannot() async throws {
        let database = try await TestDatabase.create()
        let config = try Config(environment: ["HOLD_SECONDS": "86400", "QUEUE_ACTIVE_CAP": "1000000"])
        let api = try Connection.open(conninfo: database.apiConninfo)
        defer { api.close() }
        try Policy.reconcile(config, on: api, logger: Self.logger)
        let values = try Policy.values(on: api)
        #expect(values["hold_seconds"] == "300")
        #expect(values["queue_active_cap"] == "100")
        #expect(throws: PostgresError.self) { try api.execute("select api.setting_set('hold_seconds', '86400')") }
    }
}
