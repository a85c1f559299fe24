import Foundation
import Testing

@testable import BoxOffice

/// What the command line tells its user: every setting in `serve --help` and
/// in docs/operations.md, a busy port named with HTTP_PORT, the jobs there are
/// when one asked for is not, `db status`'s exit status.
@Suite("The command line's messages")
struct CommandLineTests {
    /// The environment of a child process, without the test suite's own keys.
    static func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BOXOFFICE_TEST") }
        env["BOXOFFICE_SQL_DIR"] = TestPaths.sql
        env["LOG_LEVEL"] = "error"
        env.merge(extra) { _, new in new }
        return env
    }

    @Test("every variable Config reads is in Config.settings, in serve --help and in docs/operations.md")
    func settingsDocumented() async throws {
        let source = try String(contentsOfFile: TestPaths.root + "/Sources/BoxOffice/Config/Config.swift", encoding: .utf8)
        let read = Set(source.matches(of: /(?:environment\[|integer\()"([A-Z_]+)"/).map { String($0.1) })
        #expect(read.count >= 20)
        let listed = Config.settings.map(\.name)
        #expect(Set(listed) == read, "Config.settings and the keys Config.swift reads differ")
        #expect(listed.count == Set(listed).count, "a setting listed twice")

        let help = try await ProcessRun.run([TestPaths.binary, "serve", "--help"], environment: Self.environment([:]))
        #expect(help.status == 0)
        let helpText = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let operations = try String(contentsOfFile: TestPaths.root + "/docs/operations.md", encoding: .utf8)
        for setting in Config.settings {
            #expect(
                helpText.contains("\(setting.name) (default \(setting.defaultValue))"),
                "\(setting.name) missing from serve --help")
            #expect(operations.contains("| `\(setting.name)` |"), "\(setting.name) missing from docs/operations.md")
        }
    }

    @Test("a busy port stops serve with exit status 1 and a message naming the address and HTTP_PORT")
    func busyPort() async throws {
        let database = try await TestDatabase.create()
        // Hold a loopback port the way another server would.
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(socket >= 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        #expect(bound && listen(socket, 1) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))

        let serve = try await ProcessRun.run(
            [TestPaths.binary, "serve"],
            environment: Self.environment([
                "DATABASE_URL": database.apiConninfo, "MIGRATE_DATABASE_URL": database.adminConninfo,
                "HTTP_PORT": String(port), "SCHEDULER": "off",
            ]),
            timeout: .seconds(60))
        #expect(serve.status == 1, "\(serve.output)")
        #expect(serve.output.contains("127.0.0.1:\(port) is already in use"), "\(serve.output)")
        #expect(serve.output.contains("HTTP_PORT"), "\(serve.output)")
        #expect(!serve.output.contains("errno"), "\(serve.output)")
    }

    @Test("jobs run with an unknown name lists the jobs there are and runs nothing")
    func unknownJob() async throws {
        let database = try await TestDatabase.create()
        let env = Self.environment(["DATABASE_URL": database.adminConninfo, "MIGRATE_DATABASE_URL": ""])
        let runs = try database.scalar("select count(*) from app.job_runs")
        let unknown = try await ProcessRun.run([TestPaths.binary, "jobs", "run", "nope"], environment: env)
        #expect(unknown.status == 1, "\(unknown.output)")
        #expect(unknown.output.contains("no job named nope"), "\(unknown.output)")
        for job in ["queue_admit", "holds_expire", "tokens_expire", "outbox_dispatch", "job_runs_prune"] {
            #expect(unknown.output.contains(job), "\(job) not listed: \(unknown.output)")
        }
        #expect(try database.scalar("select count(*) from app.job_runs") == runs)

        let known = try await ProcessRun.run([TestPaths.binary, "jobs", "run", "holds_expire"], environment: env)
        #expect(known.status == 0, "\(known.output)")
        #expect(known.output.contains("succeeded"), "\(known.output)")
    }

    @Test("db status exits 3 when there is no cluster, as its help says")
    func dbStatusExitStatus() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("no-cluster-\(UUID().uuidString)").path
        let status = try await ProcessRun.run(
            [TestPaths.binary, "db", "status"], environment: Self.environment(["BOXOFFICE_HOME": home, "DATABASE_URL": ""]))
        #expect(status.status == 3, "\(status.output)")
        #expect(status.output.contains("not initialized"), "\(status.output)")
        let help = try await ProcessRun.run([TestPaths.binary, "db", "status", "--help"], environment: Self.environment([:]))
        let helpText = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(helpText.contains("3 when it is stopped or not created yet"), "\(help.output)")
    }
}
