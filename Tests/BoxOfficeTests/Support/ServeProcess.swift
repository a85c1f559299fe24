import Foundation

@testable import BoxOffice

/// A real `boxoffice serve` process (the debug binary scripts/test builds),
/// for tests that need several instances on one database or a `kill -9`.
final class ServeProcess: @unchecked Sendable {
    let pid: pid_t
    let port: Int
    let instance: String
    let logPath: String
    private var exited = false

    var client: HTTPTestClient { HTTPTestClient(port: port) }

    /// Starts an instance against `database` and waits until it listens.
    /// `environment` adds to or overrides the policy (SCHEDULER, HOLD_SECONDS, ...).
    init(database: TestDatabase, instance: String, environment: [String: String] = [:]) async throws {
        self.instance = instance
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("boxoffice-\(instance)-\(UUID().uuidString.prefix(8)).log").path
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BOXOFFICE_TEST") }
        env["DATABASE_URL"] = database.apiConninfo
        env["MIGRATE_DATABASE_URL"] = database.adminConninfo
        env["HTTP_PORT"] = "0"
        env["INSTANCE_NAME"] = instance
        env["BOXOFFICE_SQL_DIR"] = TestPaths.sql
        env["LOG_LEVEL"] = "notice"
        env["DB_POOL_WAIT_MS"] = "30000"  // the suite runs in parallel on two cores
        env["USER_KEYS"] = "optional"  // joins name their userId, unless a test is about keys
        env.merge(environment) { _, new in new }
        pid = try Subprocess.spawn([TestPaths.binary, "serve"], environment: env, outputPath: logPath)
        var found: Int?
        for _ in 0..<300 {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let match = log.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/) {
                found = Int(match.1)
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard let found else {
            kill(pid, SIGKILL)
            Subprocess.wait(pid)
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw Subprocess.Failure(description: "boxoffice serve did not start within 30 s:\n\(log)")
        }
        port = found
    }

    /// The instance's log so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGTERM (a clean stop) or SIGKILL (a crash); waits for the exit and
    /// returns its status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        guard !exited else { return 0 }
        exited = true
        kill(pid, signal)
        return Subprocess.wait(pid)
    }

    /// `stop`, with the wait for the exit on a thread of its own: a test
    /// that awaits this does not hold one of the few cooperative threads
    /// (two on two cores) for the seconds a graceful stop takes, which would
    /// stall every other test's tasks meanwhile.
    func stopped(signal: Int32 = SIGTERM) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.stop(signal: signal)) }.start()
        }
    }

    deinit {
        if !exited {
            kill(pid, SIGKILL)
            Subprocess.wait(pid)
        }
    }
}
