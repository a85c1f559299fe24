import Foundation

@testable import BoxOffice

/// A copy of sql/ in a temporary folder, to play a newer (or edited) version
/// of the schema: add a migration, change a procedure file.
struct SQLTree: Sendable {
    let path: String

    var migrator: Migrator { Migrator(directory: path) }

    static func copy() throws -> SQLTree {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sql-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: TestPaths.sql, toPath: path)
        return SQLTree(path: path)
    }

    /// Writes `sql/migrations/<name>`.
    func add(migration name: String, _ text: String) throws {
        try text.write(toFile: path + "/migrations/" + name, atomically: true, encoding: .utf8)
    }

    /// Writes a file of the tree (`procedures/95_marker.sql`), replacing it.
    func write(_ file: String, _ text: String) throws {
        try (text + "\n").write(toFile: path + "/" + file, atomically: true, encoding: .utf8)
    }

    /// A copy of sql/ migrated onto a fresh, empty database, handed to `body`
    /// with the owner's connection; both are removed afterwards.
    static func migrated(_ body: (SQLTree, Connection) throws -> Void) async throws {
        let tree = try copy()
        defer { tree.remove() }
        let database = try await TestDatabase.create(empty: true)
        let connection = try database.admin()
        defer { connection.close() }
        try tree.migrator.migrate(on: connection)
        try body(tree, connection)
    }

    /// Appends `text` to a file of the tree (`procedures/10_user_create.sql`).
    func append(_ file: String, _ text: String) throws {
        let url = URL(fileURLWithPath: path + "/" + file)
        try (String(contentsOf: url, encoding: .utf8) + "\n" + text + "\n").write(to: url, atomically: true, encoding: .utf8)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
