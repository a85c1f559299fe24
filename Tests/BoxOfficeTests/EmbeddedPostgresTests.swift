import Foundation
import Testing

@testable import BoxOffice

@Suite("The embedded cluster")
struct EmbeddedPostgresTests {
    @Test("starts, stops, and starts again with its data")
    func startStopStart() throws {
        let home = "/tmp/boxoffice-embedded-\(UUID().uuidString.prefix(8))"
        defer {
            try? EmbeddedPostgres(home: home).stop()
            try? FileManager.default.removeItem(atPath: home)
        }
        let cluster = EmbeddedPostgres(home: home)
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
        // loopback and the socket only
        #expect(try again.execute("show listen_addresses").scalar == "127.0.0.1")
    }
}
