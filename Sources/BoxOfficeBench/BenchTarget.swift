import Foundation

/// The server under load: an http:// URL on the loopback interface. The load
/// generator refuses anything else, so it can never be pointed at a machine
/// it was not meant for.
public struct BenchTarget: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    public init(url text: String) throws {
        guard let url = URL(string: text), url.scheme == "http", let host = url.host, !host.isEmpty else {
            throw Refused(description: "--url must look like http://127.0.0.1:8080 (got \(text))")
        }
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard Self.isLoopback(bare) else {
            throw Refused(
                description: "refusing \(host): the load generator only talks to loopback (127.0.0.0/8, ::1, localhost)")
        }
        self.host = bare == "localhost" ? "127.0.0.1" : bare
        port = url.port ?? 80
    }

    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
        return parts[0] == "127"
    }

    var hostHeader: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    public var description: String { "http://\(hostHeader)" }
}
