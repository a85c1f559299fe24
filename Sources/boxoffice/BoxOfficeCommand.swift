import ArgumentParser
import BoxOffice
import BoxOfficeBench
import Foundation
import Logging
import NIOCore

@main
struct BoxOfficeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boxoffice",
        abstract: "Box Office: concert reservations that survive an on-sale.",
        subcommands: [Serve.self, Migrate.self, Seed.self, DB.self, Jobs.self, Users.self, Sale.self, Webhooks.self, Audit.self, Bench.self])
}

/// Configuration and logging, shared by every command.
struct Environment {
    let config: Config
    let logger: Logger

    init() throws {
        do {
            config = try Config()
        } catch {
            throw ValidationError("configuration: \(error)")
        }
        let level = Logger.Level(rawValue: config.logLevel) ?? .notice
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        logger = Logger(label: "boxoffice")
    }

    /// A connection for the owner's work (migrate, seed, jobs, audit).
    func adminConnection() throws -> Connection {
        let target = try DatabaseTarget.resolve(config, logger: logger)
        return try Connection.open(conninfo: target.adminConninfo)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server and the scheduler; migrates first if the schema is behind.",
        discussion: """
            Stops cleanly on SIGTERM or SIGINT (Ctrl-C). Every setting comes from the environment; \
            an invalid value stops the server with a message.

            \(Config.settings.map { "\($0.name) (default \($0.defaultValue)): \($0.meaning)." }.joined(separator: "\n"))
            """)

    func run() async throws {
        let env = try Environment()
        do {
            try await Server.run(config: env.config, logger: env.logger)
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            let message = """
                boxoffice serve: \(env.config.httpHost):\(env.config.httpPort) is already in use. Stop what listens \
                there, or set HTTP_PORT to another port (0: any free port).\n
                """
            FileHandle.standardError.write(Data(message.utf8))
            throw ExitCode(1)
        }
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply sql/migrations, then sql/procedures, then sql/indexes.")

    @Flag(help: "List what is applied, pending or changed, and apply nothing.")
    var status = false

    func run() throws {
        let env = try Environment()
        let connection = try env.adminConnection()
        defer { connection.close() }
        let migrator = Migrator(directory: env.config.sqlDirectory)
        if status {
            let current = try migrator.status(on: connection)
            for name in current.applied { print("applied  \(name)") }
            for name in current.pending { print("pending  \(name)") }
            for name in current.changed { print("CHANGED  \(name) (edited after it was applied)") }
            for name in current.unknown { print("UNKNOWN  \(name) (applied by a newer version; this one will not migrate)") }
            let procedures = try migrator.files("procedures").count
            let indexes = try migrator.files("indexes").count
            print("\(current.pending.count) pending; \(procedures) procedure files and \(indexes) index files are applied on every migrate")
            if !current.changed.isEmpty || !current.unknown.isEmpty { throw ExitCode(1) }
            return
        }
        let applied = try migrator.migrate(on: connection, logger: env.logger)
        try Policy.reconcile(env.config, on: connection, logger: env.logger)
        print(applied.isEmpty ? "schema is current" : "applied \(applied.count) migration(s): \(applied.joined(separator: ", "))")
    }
}

struct Seed: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load demo data, or N seats' worth of concerts and dates for load and EXPLAIN work.")

    @Flag(help: "A few concerts, dates and 1 000 users, for trying the service.")
    var demo = false

    @Option(help: "Seats to load (100 000 and up), 50 per date, 100 dates per concert.")
    var scale: Int?

    func validate() throws {
        if demo == (scale != nil) { throw ValidationError("give exactly one of --demo or --scale N") }
        if let scale, scale < 50 { throw ValidationError("--scale must be at least 50") }
    }

    func run() throws {
        let env = try Environment()
        let connection = try env.adminConnection()
        defer { connection.close() }
        try Server.migrateIfBehind(Migrator(directory: env.config.sqlDirectory), conninfo: connection.conninfo, logger: env.logger)
        if demo {
            print(try connection.execute("select app.seed_demo()::text").scalar ?? "")
            // Demo users have no API key until one is issued; the first gets one here.
            if let user = try connection.execute("select min(user_id)::text from app.users").scalar,
                let key = try connection.execute("select api.user_key_issue($1::bigint)->>'apiKey'", [user]).scalar
            {
                print("user \(user)'s API key (shown once; boxoffice users key USER_ID issues one to any user): \(key)")
            }
            return
        }
        try SeedProgress.scale(seats: scale!, connection: connection)
    }
}

struct DB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "The embedded PostgreSQL cluster under .boxoffice/.",
        subcommands: [Start.self, Stop.self, Status.self, URL.self])

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the cluster if there is none, and start it.",
            discussion: "It listens on a unix socket in BOXOFFICE_HOME only, and runs until `boxoffice db stop`.")
        func run() throws {
            let env = try Environment()
            let embedded = EmbeddedPostgres(home: env.config.home)
            try embedded.start(logger: env.logger)
            print("running: \(try embedded.url())")
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the cluster (fast shutdown); nothing to do when it is not running.")
        func run() throws {
            let env = try Environment()
            try EmbeddedPostgres(home: env.config.home).stop()
            print("stopped")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether the cluster runs, and where its socket is.",
            discussion: "Exit status 0 when it runs, 3 when it is stopped or not created yet (as pg_ctl status), 1 on any other failure.")
        func run() throws {
            let env = try Environment()
            let embedded = EmbeddedPostgres(home: env.config.home)
            switch try embedded.status() {
            case .notInitialized: print("not initialized (\(env.config.home))"); throw ExitCode(3)
            case .stopped: print("stopped (\(env.config.home))"); throw ExitCode(3)
            case .running(let port):
                // Unix socket only: the port only names the socket file.
                print("running, unix socket \(embedded.socketDirectory)/.s.PGSQL.\(port) (no TCP)")
            }
        }
    }

    struct URL: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a libpq URL of the cluster, for psql \"$(boxoffice db url)\".")
        @Option(help: "The role to connect as.") var user = "postgres"
        func run() throws {
            let env = try Environment()
            print(try EmbeddedPostgres(home: env.config.home).url(user: user))
        }
    }
}

struct Jobs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The scheduler's jobs, their recent runs, one run now.",
        subcommands: [List.self, Runs.self, Run.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every job: name, schedule, whether it is active, its command.")
        func run() throws {
            let connection = try Environment().adminConnection()
            defer { connection.close() }
            let rows = try connection.execute("""
                select j->>'name', j->>'schedule', j->>'active', j->>'command'
                from jsonb_array_elements(api.job_list()->'jobs') j
                """)
            Table.print(["name", "schedule", "active", "command"], rows.rows)
        }
    }

    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The recent runs, newest first, of every job or of one.")
        @Argument(help: "Only this job's runs.") var name: String?
        @Option(help: "How many runs.") var limit = 20
        func run() throws {
            let connection = try Environment().adminConnection()
            defer { connection.close() }
            let rows = try connection.execute("""
                select r->>'job', r->>'status', r->>'startedAt', r->>'durationMs', r->>'instance', coalesce(r->>'message', '')
                from jsonb_array_elements(api.job_runs(job_name => $1, max_runs => $2::integer)->'runs') r
                """, [name, String(limit)])
            Table.print(["job", "status", "started", "ms", "instance", "message"], rows.rows)
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one job now, recorded like any other run.",
            discussion: "Exit status 0 when the run succeeded, 1 when it failed or there is no such job.")
        @Argument(help: "The job to run now (boxoffice jobs list).") var name: String
        func run() throws {
            let env = try Environment()
            let connection = try env.adminConnection()
            defer { connection.close() }
            let names = try JobRunner.jobs(connection: connection).map(\.name)
            guard names.contains(name) else {
                FileHandle.standardError.write(Data("no job named \(name); the jobs are: \(names.joined(separator: ", "))\n".utf8))
                throw ExitCode(1)
            }
            let outcome = try JobRunner.runNow(name: name, connection: connection, instance: env.config.instanceName + "/cli",
                                               timeoutSeconds: env.config.jobTimeoutSeconds)
            print(outcome.succeeded ? "succeeded: \(outcome.message ?? "")" : "failed: \(outcome.message ?? "")")
            if !outcome.succeeded { throw ExitCode(1) }
        }
    }
}

struct Users: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Users' API keys.", subcommands: [Key.self])

    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue the user a new API key and print it; the old key stops working at once.")
        @Argument(help: "The user's id.") var userId: Int64
        func run() throws {
            let connection = try Environment().adminConnection()
            defer { connection.close() }
            // null when there is no such user (api.user_key_issue would raise CR101)
            let key = try connection.execute(
                """
                select api.user_key_issue(user_id => u.user_id)->>'apiKey'
                from (select $1::bigint as user_id) u
                where exists (select from app.users x where x.user_id = u.user_id)
                """, [String(userId)]
            ).scalar
            guard let key else { throw ValidationError("no user \(userId) exists") }
            print(key)
        }
    }
}

struct Sale: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "On-sales: schedule a concert's opening (with a pre-queue), pause and resume its admission, show its state, set the rate of admission.",
        discussion: """
            Before a scheduled opening, fans who join wait in a pre-queue without a position; at the first admission \
            run after it they are put in a random order, ahead of everyone who joins later (docs/onsale.md). \
            A paused concert admits nobody and keeps its order and positions. Each command but rate prints the sale's state.
            """,
        subcommands: [Schedule.self, Pause.self, Resume.self, Status.self, Rate.self])

    /// The columns every subcommand prints, one row per sale of `{"sales": [...]}` or of one sale.
    static func print(_ connection: Connection, sql: String, _ parameters: [String?]) throws {
        let rows = try connection.execute("""
            with r as (\(sql)),
            s as (select case when r.j ? 'sales' then e else r.j end as s
                  from r left join lateral jsonb_array_elements(r.j -> 'sales') e on r.j ? 'sales')
            select s->>'concertId', s->>'title', s->>'state', coalesce(s->>'saleOpensAt', ''), coalesce(s->>'openedAt', ''),
              coalesce(s->>'prequeued', ''), s->>'waiting', s->>'active', s->>'admitRate', s->>'newUsersPerMinute'
            from s where s.s is not null
            """, parameters)
        Table.print(["concert", "title", "state", "opens at", "opened at", "pre-queued", "waiting", "active",
                     "admitted/s", "new users/min"], rows.rows)
    }

    struct Schedule: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Schedule (or move) the opening of a concert's sale; refused once it has opened.")
        @Argument(help: "The concert's id.") var concertId: Int64
        @Argument(help: "When it opens: an ISO 8601 time (2026-12-24T10:00:00Z), now, or +DURATION from now (+10m, +2h, +30s).")
        var time: String
        func run() throws {
            let connection = try Environment().adminConnection()
            defer { connection.close() }
            try Sale.print(connection, sql: """
                select api.sale_schedule(concert_id => $1::bigint,
                  opens_at => case when left($2, 1) = '+' then now() + substr($2, 2)::interval else $2::timestamptz end) as j
                """, [String(concertId), time])
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pause admission to a concert: nobody is admitted; order and positions are kept.")
        @Argument(help: "The concert's id.") var concertId: Int64
        func run() throws {
            let connection = try Environment().adminConnection()
            defer { connection.close() }
            try Sale.print(connection, sql: "select api.sale_pause(concert_id => $1::bigint) as j", [String(concertId)])
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume admission to a paused concert.")
        @Argument(help: "The concert's id.") var concertId: Int64
        func run() throws {
            let connection = try Environment().adminConnection()
            defer { connection.close() }
            try Sale.print(connection, sql: "select api.sale_resume(concert_id => $1::bigint) as j", [String(concertId)])
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The state of one concert's sale, or of every concert with a scheduled opening, a pause or a line.")
        @Argument(help: "The concert's id (default: all of those).") var concertId: Int64?
        func run() throws {
            let connection = try Environment().adminConnection()
            defer { connection.close() }
            try Sale.print(connection, sql: "select api.sale_status(concert_id => $1::bigint) as j", [concertId.map(String.init)])
        }
    }

    /// The rate is one setting for every concert (app.settings), not a
    /// column of a concert's sale, so it takes no concert id.
    struct Rate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set NEW_USERS_PER_MINUTE: at most this many admissions a minute to each concert, on top of the cap.",
            discussion: """
                One value for every concert (the policy in app.settings): api.setting_set('new_users_per_minute', N) \
                as the owner, read by the next admission run of every instance. 0 is no rate: the cap alone. \
                An instance started as the owner with NEW_USERS_PER_MINUTE in its environment writes that value again.
                """)
        @Argument(help: "Admissions a minute per concert, 0 to 1000000 (0: the cap alone). Without it, the current value.")
        var perMinute: String?
        func run() throws {
            let connection = try Environment().adminConnection()
            defer { connection.close() }
            let (sql, parameters): (String, [String?]) =
                if let perMinute {
                    ("select api.setting_set(name => 'new_users_per_minute', value => $1)->>'value'", [perMinute])
                } else {
                    ("select s->>'value' from jsonb_array_elements(api.setting_list()->'settings') s where s->>'name' = 'new_users_per_minute'", [])
                }
            let value = try connection.execute(sql, parameters).scalar ?? ""
            guard !value.isEmpty else { throw ValidationError("new_users_per_minute is not in app.settings: run boxoffice migrate") }
            Swift.print("new_users_per_minute \(value)" + (value == "0" ? " (no rate: QUEUE_ACTIVE_CAP alone)" : " (per concert, on top of QUEUE_ACTIVE_CAP)"))
        }
    }
}

struct Webhooks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Webhook events and their delivery (docs/webhooks.md); send one again.",
        subcommands: [List.self, Retry.self])

    struct List: ParsableCommand {
        @Option(help: "Only events in this state: PENDING, DELIVERED or DEAD.") var status: String?
        @Option(help: "How many events, newest first.") var limit = 20
        func run() throws {
            let connection = try Environment().adminConnection()
            defer { connection.close() }
            let rows = try connection.execute("""
                select e->>'eventId', e->>'type', coalesce(e->>'reservationId', ''), e->>'status', e->>'attempts',
                  coalesce(e#>>'{lastAttempt,statusCode}', e#>>'{lastAttempt,error}', ''),
                  coalesce(e#>>'{lastAttempt,durationMs}', ''), coalesce(e->>'nextAttemptAt', e->>'deliveredAt', ''),
                  e->>'webhookId'
                from jsonb_array_elements(api.webhook_list(status => $1, max_events => $2::integer)->'events') e
                """, [status?.uppercased(), String(limit)])
            Table.print(["event", "type", "reservation", "status", "attempts", "last answer", "ms", "next/delivered", "webhook id"], rows.rows)
        }
    }

    struct Retry: ParsableCommand {
        @Argument(help: "The event to send again (its event id).") var id: Int64
        func run() throws {
            let connection = try Environment().adminConnection()
            defer { connection.close() }
            let event = try connection.execute("select api.webhook_retry(event_id => $1::bigint)->>'status'", [String(id)])
            print("event \(id): \(event.scalar ?? "") again, due now")
        }
    }
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check every invariant; exit status 1 when any is broken.")

    func run() throws {
        let connection = try Environment().adminConnection()
        defer { connection.close() }
        let rows = try connection.execute("select invariant, subject, detail from api.audit()")
        if rows.rows.isEmpty {
            print("all invariants hold")
            return
        }
        Table.print(["invariant", "subject", "detail"], rows.rows)
        throw ExitCode(1)
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load-test a running server on loopback (flow, queue, onsale, holds, payments, calls, health), or the libpq pool (pool).",
        discussion: """
            Each phase is bounded by --duration and --max-requests. scripts/bench runs them all; \
            BENCHMARKS.md has the results. `bench pool` needs no server: it measures round trips/s of the \
            server's pool (a thread per connection) against libpq's non-blocking API on one polling thread \
            (bench/pool/run.sh, bench/pool/RESULTS.md).
            """)

    @Argument(help: "flow, queue, onsale, holds, payments, calls, health or pool.") var scenario: String
    @Option(help: "The server, on loopback only.") var url = "http://127.0.0.1:8080"
    @Option(help: "Concurrent virtual users, one keep-alive connection each.") var users = 10
    @Option(help: "Seconds per measured phase (pool: per round).") var duration = 10.0
    @Option(help: "Requests per measured phase, at most.") var maxRequests = 2_000_000
    @Option(help: "Concerts to use: 7, 1-100 or 3,5 (default: every concert listed).") var concerts: String?
    @Option(help: "onsale: how many people are after the seats.") var people = 10_000
    @Option(help: "onsale: seats on sale; the run ends once they are all paid.") var seats = 50
    @Option(help: "onsale: seconds to go on after the last seat is sold.") var drain = 3.0
    @Option(name: .customLong("poll-ms"), help: "How often a waiting user polls its ticket.") var pollMilliseconds = 200
    @Flag(help: "onsale: poll every --poll-ms, ignoring the X-Poll-Interval of the answers.") var fixedPoll = false
    @Option(help: "payments: holds to prepare and pay.") var count = 2_000
    @Option(help: "queue, onsale: existing user ids to use, as A-B (else users are created over HTTP first).")
    var userIds: String?
    @Option(help: "Event loop threads of the load generator.") var threads = 1
    @Option(help: "Also write the report as JSON to this file.") var json: String?
    @Option(help: "pool: the database, a libpq URL or key=value string (default: DATABASE_URL).") var conninfo: String?
    @Option(help: "pool: libpq connections, the same for both ways.") var connections = 8
    @Option(help: "pool: concurrent tasks, one number or several: 8,32,128.") var tasks = "8,32,128"
    @Option(help: "pool: measured rounds per way and number of tasks (each after a 1 s warm-up).") var rounds = 5
    @Option(help: "pool: the statement of each round trip, prepared on every connection.") var sql = "select 1"

    func run() async throws {
        if scenario == "pool" { return try await runPool() }
        guard let chosen = BenchScenario(rawValue: scenario) else {
            let known = (BenchScenario.allCases.map(\.rawValue) + ["pool"]).joined(separator: ", ")
            throw ValidationError("unknown scenario \(scenario): one of \(known)")
        }
        var options = BenchOptions(target: try BenchTarget(url: url))
        options.users = users
        options.duration = duration
        options.maxRequests = maxRequests
        options.concerts = try concerts.map(BenchOptions.ids)
        options.people = people
        options.seats = seats
        options.drain = drain
        options.pollMilliseconds = pollMilliseconds
        options.followsPollInterval = !fixedPoll
        options.count = count
        options.userIDs = try userIds.map(BenchOptions.ids).map { $0.first!...$0.last! }
        options.threads = threads
        try BenchOptions.ensureFileLimit(users: users)
        let report = try await BenchRunner.run(chosen, options: options) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        print(report.table)
        if let json { try report.json().write(to: URL(fileURLWithPath: json)) }
    }
}

extension Bench {
    func runPool() async throws {
        guard let conninfo = conninfo ?? ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            throw ValidationError("bench pool needs --conninfo or DATABASE_URL")
        }
        var options = PoolBenchmark.Options()
        options.sql = sql
        options.connections = connections
        options.tasks = try BenchOptions.ids(tasks).map { Int($0) }
        options.seconds = duration
        options.rounds = rounds
        let report = try await PoolBenchmark.run(options, conninfo: conninfo) { round in
            let line = "\(round.way.rawValue), \(round.tasks) tasks, round \(round.round): \(Int(round.perSecond)) round trips/s\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
        print(report.table)
        if let json { try report.json().write(to: URL(fileURLWithPath: json)) }
    }
}

enum Table {
    static func print(_ header: [String], _ rows: [[String?]]) {
        let all = [header] + rows.map { $0.map { $0 ?? "" } }
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        for row in all {
            Swift.print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }
}

enum SeedProgress {
    /// Loads `seats` seats in batches of 10 concerts × 100 dates × 50 seats,
    /// drawing a progress bar on standard error.
    static func scale(seats: Int, connection: Connection) throws {
        let dates = (seats + 49) / 50
        let datesPerConcert = min(100, dates)
        let concerts = (dates + datesPerConcert - 1) / datesPerConcert
        var done = 0
        let started = Date()
        while done < concerts {
            let batch = min(10, concerts - done)
            try connection.execute("select app.seed_scale(concerts => $1::integer, dates_per_concert => $2::integer)",
                                   [String(batch), String(datesPerConcert)])
            done += batch
            let fraction = Double(done) / Double(concerts)
            let bar = String(repeating: "#", count: Int(fraction * 40)).padding(toLength: 40, withPad: ".", startingAt: 0)
            FileHandle.standardError.write(Data(String(format: "\r[%@] %3.0f%%  %d seats", bar, fraction * 100, done * datesPerConcert * 50).utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        print("seeded \(concerts * datesPerConcert * 50) seats (\(concerts) concerts × \(datesPerConcert) dates × 50) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}
