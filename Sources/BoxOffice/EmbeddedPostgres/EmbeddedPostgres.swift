import Foundation
import Logging

/// The private PostgreSQL 15 cluster under `.boxoffice/` that `serve` uses
/// when DATABASE_URL is unset: Debian's binaries, initdb on first use, and
/// never a root-owned server (when the caller is root it runs as the
/// `postgres` system user). It listens on a unix socket only, in a 0700
/// folder of the user it runs as, so that its trust authentication admits
/// that user and root and nobody else: no TCP (nothing needs it; the
/// embedded cluster runs no pg_cron), and host connections rejected in
/// pg_hba.conf should it ever listen.
public struct EmbeddedPostgres: Sendable {
    public let home: String
    /// Names the socket file (`.s.PGSQL.5432`) in the private socket folder;
    /// nothing listens on this TCP port.
    public static let port = 5432
    public let databaseName = "boxoffice"
    public var dataDirectory: String { home + "/data" }
    public var socketDirectory: String { home + "/run" }
    public var logFile: String { home + "/postgres.log" }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public enum Status: Equatable, Sendable {
        case notInitialized
        case stopped
        case running(port: Int)
    }

    public init(home: String) {
        self.home = URL(fileURLWithPath: home).standardizedFileURL.path
    }

    public static func binDirectory() throws -> String {
        for candidate in ["/usr/lib/postgresql/15/bin"] where FileManager.default.isExecutableFile(atPath: candidate + "/pg_ctl") {
            return candidate
        }
        if let output = try? run(["pg_config", "--bindir"]), FileManager.default.isExecutableFile(atPath: output + "/pg_ctl") {
            return output
        }
        throw Failure(description: "PostgreSQL 15 binaries not found: install postgresql-15 (scripts/run does)")
    }

    public func status() throws -> Status {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") else { return .notInitialized }
        let bin = try Self.binDirectory()
        guard (try? asServerUser([bin + "/pg_ctl", "-D", dataDirectory, "status"])) != nil else { return .stopped }
        return .running(port: try port())
    }

    /// Initializes the cluster when needed, starts it when stopped, and makes
    /// sure the `boxoffice` database exists. Returns true when it started it.
    @discardableResult
    public func start(logger: Logger? = nil) throws -> Bool {
        let bin = try Self.binDirectory()
        if Self.isRoot { try checkReachableByServerUser() }
        var started = false
        switch try status() {
        case .running:
            break
        case .notInitialized:
            try initialize(bin: bin)
            fallthrough
        case .stopped:
            try prepareSocketDirectory()
            logger?.info("starting embedded PostgreSQL", metadata: ["data": "\(dataDirectory)", "socket": "\(socketDirectory)"])
            // On the command line too, so a cluster made by an older version
            // (which listened on 127.0.0.1) is tightened as well.
            try asServerUser([
                bin + "/pg_ctl", "-D", dataDirectory, "-l", logFile, "-w", "-t", "60",
                "-o", "-p \(Self.port) -k \(socketDirectory) -c listen_addresses='' -c unix_socket_permissions=0700", "start",
            ])
            started = true
        }
        try createDatabaseIfMissing()
        return started
    }

    public func stop() throws {
        guard case .running = try status() else { return }
        try asServerUser([try Self.binDirectory() + "/pg_ctl", "-D", dataDirectory, "-w", "-m", "fast", "stop"])
    }

    /// A libpq connection string for `user` (the superuser by default).
    public func conninfo(user: String = "postgres", database: String? = nil) throws -> String {
        "host=\(socketDirectory) port=\(try port()) dbname=\(database ?? databaseName) user=\(user)"
    }

    /// The same as a URL, for `boxoffice db url`.
    public func url(user: String = "postgres") throws -> String {
        let socket = socketDirectory.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? socketDirectory
        return "postgresql://\(user)@/\(databaseName)?host=\(socket)&port=\(try port())"
    }

    private func port() throws -> Int {
        let pid = try String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8)
        let lines = pid.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 3, let port = Int(lines[3].trimmingCharacters(in: .whitespaces)) else {
            throw Failure(description: "cannot read the port from \(dataDirectory)/postmaster.pid")
        }
        return port
    }

    private func initialize(bin: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: home, withIntermediateDirectories: true)
        if Self.isRoot {
            // Everything the server writes must belong to the user it runs as.
            try Self.run(["chown", "-R", "postgres:postgres", home])
        }
        try asServerUser([
            bin + "/initdb", "-D", dataDirectory, "-U", "postgres", "--auth-local=trust", "--auth-host=reject",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions",
        ])
        var settings = """

            # boxoffice: a private cluster, reachable on its unix socket only, in
            # a folder only the user it runs as (and root) may enter
            listen_addresses = ''
            unix_socket_directories = '\(socketDirectory)'
            unix_socket_permissions = 0700
            max_connections = 200
            shared_buffers = 256MB

            """
        if fm.fileExists(atPath: "/usr/lib/postgresql/15/lib/pg_stat_statements.so") {
            settings += "shared_preload_libraries = 'pg_stat_statements'\n"
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(settings.utf8))
        try handle.close()
    }

    private func createDatabaseIfMissing() throws {
        let admin = try Connection.open(conninfo: try conninfo(database: "postgres"))
        defer { admin.close() }
        let exists = try admin.execute("select 1 from pg_database where datname = $1", [databaseName])
        if exists.rows.isEmpty {
            try admin.run(script: "create database \(databaseName)")
        }
    }

    @discardableResult
    private func asServerUser(_ arguments: [String]) throws -> String {
        try Self.run(Self.isRoot ? ["runuser", "-u", "postgres", "--"] + arguments : arguments)
    }

    static var isRoot: Bool { getuid() == 0 }

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        do {
            return try Subprocess.run(arguments)
        } catch {
            throw Failure(description: "\(error)")
        }
    }
}
