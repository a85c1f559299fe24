import Foundation
import Testing

@testable import BoxOffice

@Suite("The embedded cluster")
struct EmbeddedPostgresTests {
    static func home() -> String { "/tmp/boxoffice-embedded-\(UUID().uuidString.prefix(8))" }

    /// A cluster in a home of its own, stopped and removed afterwards.
    static func withCluster(_ body: (EmbeddedPostgres) throws -> Void) throws {
        let cluster = EmbeddedPostgres(home: home())
        defer {
            try? cluster.stop()
            try? FileManager.default.removeItem(atPath: cluster.home)
        }
        try body(cluster)
    }

    @Test("starts, stops, and starts again with its data")
    func startStopStart() throws {
        try Self.withCluster { cluster in
            #expect(try cluster.status() == .notInitialized)
            #expect(try cluster.start())
            guard case .running = try cluster.status() else { Issue.record("not running after start"); return }
            #expect(try cluster.start() == false)  // already running: nothing to do

            let connection = try Connection.open(conninfo: try cluster.conninfo())
            try connection.execute("create table kept (note text)")
            try connection.execute("insert into kept values ('still here')")
            connection.close()

            try cluster.stop()
            #expect(try cluster.status() == .stopped)
            try cluster.start()
            let again = try Connection.open(conninfo: try cluster.conninfo())
            defer { again.close() }
            #expect(try again.execute("select note from kept").scalar == "still here")
        }
    }

    @Test("listens on its unix socket only, in a folder only the user it runs as may enter")
    func socketOnly() throws {
        try Self.withCluster { cluster in
            try cluster.start()
            let connection = try Connection.open(conninfo: try cluster.conninfo())
            defer { connection.close() }
            #expect(try connection.execute("show listen_addresses").scalar == "")
            #expect(try connection.execute("show unix_socket_permissions").scalar == "0700")
            let openHostRules = "select count(*) from pg_hba_file_rules where type like 'host%' and auth_method <> 'reject'"
            #expect(try connection.execute(openHostRules).scalar == "0")
            let socket = try FileManager.default.attributesOfItem(atPath: cluster.socketDirectory)
            #expect(socket[.posixPermissions] as? Int == 0o700)
            if EmbeddedPostgres.isRoot {
                #expect(socket[.ownerAccountName] as? String == "postgres")
                // Another local user finds a closed door where trust would have let it in.
                let psql = [
                    try EmbeddedPostgres.binDirectory() + "/psql", "-X", "-h", cluster.socketDirectory,
                    "-p", "\(EmbeddedPostgres.port)", "-U", "postgres", "-c", "select 1", "postgres",
                ]
                #expect(try Subprocess.run(psql).contains("1 row"))
                #expect(throws: (any Error).self) { try Subprocess.run(["runuser", "-u", "nobody", "--"] + psql) }
            }
        }
    }

    @Test("as root, a home the postgres user cannot reach fails with what to do", .enabled(if: getuid() == 0))
    func unreachableHome() throws {
        let locked = Self.home()
        defer { try? FileManager.default.removeItem(atPath: locked) }
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let cluster = EmbeddedPostgres(home: locked + "/checkout/.boxoffice")
        let error = #expect(throws: EmbeddedPostgres.Failure.self) { try cluster.start() }
        let message = error?.description ?? ""
        #expect(message.contains("BOXOFFICE_HOME") && message.contains(locked + " (mode 700"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: cluster.dataDirectory))
    }
}
