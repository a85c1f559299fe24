import Foundation

@testable import BoxOffice

/// A program run to its end from an async test: its exit status and its
/// output (standard output and error together). It waits with WNOHANG and
/// sleeps, so a slow child never holds a thread of the test pool.
enum ProcessRun {
    static func run(
        _ arguments: [String], environment: [String: String], timeout: Duration = .seconds(120)
    ) async throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString).out").path
        defer { unlink(log) }
        let pid = try Subprocess.spawn(arguments, environment: environment, outputPath: log)
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            if waitpid(pid, &status, WNOHANG) == pid {
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                let signal = status & 0x7f
                return (signal == 0 ? (status >> 8) & 0xff : 128 + signal, output)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(pid, SIGKILL)
        Subprocess.wait(pid)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw Subprocess.Failure(description: "\(arguments.joined(separator: " ")) still running after \(timeout):\n\(output)")
    }
}
