import Foundation
import Testing

@testable import BoxOffice

/// Every libpq connection gets a connect timeout and TCP keepalives, unless
/// its connection string says otherwise, in key=value or URL form.
@Suite("Connection options")
struct ConnectionOptionsTests {
    /// The test cluster over TCP on loopback (scripts/test's cluster listens there too).
    static func tcp(_ database: TestDatabase) throws -> (keyValue: String, url: String) {
        let server = try #require(TestDatabase.server)
        let fields = Dictionary(server.split(separator: " ").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }) { _, last in last }
        let port = try #require(fields["port"])
        let user = fields["user"] ?? "postgres"
        return ("host=127.0.0.1 port=\(port) user=\(user) dbname=\(database.name)",
                "postgresql://\(user)@127.0.0.1:\(port)/\(database.name)")
    }

    @Test("a connection gets connect_timeout, keepalives and tcp_user_timeout by default")
    func defaults() async throws {
        let database = try await TestDatabase.create(empty: true)
        for conninfo in [try Self.tcp(database).keyValue, try Self.tcp(database).url, database.adminConninfo] {
            let connection = try Connection.open(conninfo: conninfo)
            defer { connection.close() }
            for (keyword, value) in Connection.defaults {
                #expect(connection.parameter(keyword) == value, "\(keyword) of \(conninfo)")
            }
        }
    }

    @Test("what the connection string says wins over the defaults, in key=value and URL form")
    func connectionStringWins() async throws {
        let database = try await TestDatabase.create(empty: true)
        let tcp = try Self.tcp(database)
        for conninfo in [tcp.keyValue + " connect_timeout=7 keepalives_idle=42", tcp.url + "?connect_timeout=7&keepalives_idle=42"] {
            let connection = try Connection.open(conninfo: conninfo)
            defer { connection.close() }
            #expect(connection.parameter("connect_timeout") == "7", "\(conninfo)")
            #expect(connection.parameter("keepalives_idle") == "42", "\(conninfo)")
            #expect(connection.parameter("keepalives_count") == "3", "\(conninfo)")
        }
        // A connection's own options (the scheduler's watchful ones) still win over both.
        let watchful = Connection(conninfo: tcp.keyValue + " keepalives_idle=42", options: Connection.watchful)
        try watchful.connect()
        defer { watchful.close() }
        #expect(watchful.parameter("keepalives_idle") == "5")
    }

    @Test("a server that accepts but never answers fails the connect within connect_timeout")
    func silentServerTimesOut() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        try #require(listening)
        let port = UInt16(bigEndian: address.sin_port)
        // The kernel completes the TCP handshake; nobody ever sends a byte.
        let started = Date()
        #expect(throws: PostgresError.self) {
            try Connection.open(conninfo: "host=127.0.0.1 port=\(port) user=nobody dbname=nothing")
        }
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 4 && waited < 15, "waited \(waited) s")
    }
}
