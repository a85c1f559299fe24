import BoxOffice
import Foundation

/// CPU time of a PostgreSQL server on this machine: the postmaster's child
/// processes (backends, background workers), from /proc. Nil when the server
/// is elsewhere or /proc cannot be read.
struct ServerCPU: Sendable {
    let postmaster: Int32

    init?(conninfo: String) throws {
        let connection = try Connection.open(conninfo: conninfo)
        defer { connection.close() }
        let backend = connection.backendPID
        guard let stat = ServerCPU.stat(backend), stat.comm == "postgres" else { return nil }
        postmaster = stat.ppid
    }

    /// utime + stime in clock ticks of each child of the postmaster.
    func ticks() -> [Int32: Int] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        var ticks: [Int32: Int] = [:]
        for pid in pids {
            if let stat = ServerCPU.stat(pid), stat.ppid == postmaster { ticks[pid] = stat.ticks }
        }
        return ticks
    }

    func seconds(since before: [Int32: Int]) -> Double {
        let used = ticks().reduce(0) { $0 + $1.value - (before[$1.key] ?? 0) }
        return Double(used) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Fields of /proc/PID/stat; comm may hold spaces, so split after its ')'.
    private static func stat(_ pid: Int32) -> (comm: String, ppid: Int32, ticks: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let ppid = Int32(fields[1]), let user = Int(fields[11]), let system = Int(fields[12])
        else { return nil }
        return (String(text[text.index(after: open)..<close]), ppid, user + system)
    }
}
