import Foundation

/// Child processes through posix_spawn and waitpid. Foundation's Process
/// waits for a child with the help of a Dispatch thread and hangs when every
/// thread of the caller's pool is busy; this does not.
public enum Subprocess {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `arguments[0]` (looked up on PATH) with standard input from
    /// /dev/null and standard output and error appended to `outputPath`.
    /// `environment` nil inherits this process's environment.
    public static func spawn(_ arguments: [String], environment: [String: String]? = nil, outputPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for pointer in envp ?? [] { free(pointer) } }
        var pid: pid_t = 0
        let spawned: Int32
        if envp != nil {
            spawned = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, &envp!)
        } else {
            spawned = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ)
        }
        guard spawned == 0 else { throw Failure(description: "\(arguments[0]): \(String(cString: strerror(spawned)))") }
        return pid
    }

    /// Waits for `pid` and returns its exit status (128 + signal when killed).
    @discardableResult
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Runs a program to the end and returns its trimmed output (standard
    /// output and error together, through a file: `pg_ctl start` leaves a
    /// server running that would hold a pipe open). Throws when it fails.
    @discardableResult
    public static func run(_ arguments: [String]) throws -> String {
        let capture = FileManager.default.temporaryDirectory.appendingPathComponent("boxoffice-\(UUID().uuidString).out").path
        defer { unlink(capture) }
        let status = wait(try spawn(arguments, outputPath: capture))
        let output = (try? String(contentsOfFile: capture, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard status == 0 else { throw Failure(description: "\(arguments.joined(separator: " ")) failed (\(status)): \(output)") }
        return output
    }
}
