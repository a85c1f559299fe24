import Foundation

/// Who may reach the embedded cluster: as root the server runs as the
/// `postgres` system user, which needs to enter every folder above the
/// cluster's home; and its socket folder is 0700, so that trust
/// authentication admits only the user it runs as, and root.
extension EmbeddedPostgres {
    /// Fails with what to do when the `postgres` user cannot reach `home`
    /// (a checkout under /root, which is 0700): initdb and pg_ctl would
    /// otherwise fail with a bare "Permission denied".
    func checkReachableByServerUser() throws {
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let parent = (home as NSString).deletingLastPathComponent
        guard !Self.serverUserCanEnter(parent) else { return }
        var path = ""
        var blocking = parent
        for component in parent.split(separator: "/") {
            path += "/" + component
            if !Self.serverUserCanEnter(path) {
                blocking = path
                break
            }
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: blocking)
        let mode = (attributes?[.posixPermissions] as? Int).map { "mode " + String($0, radix: 8) } ?? "no access"
        let owner = (attributes?[.ownerAccountName] as? String).map { ", owner \($0)" } ?? ""
        throw Failure(description: """
            the embedded cluster's folder \(home) is out of reach of the postgres user, which runs the cluster \
            when boxoffice runs as root: it may not enter \(blocking) (\(mode)\(owner)). \
            Set BOXOFFICE_HOME to a folder it can reach (for example BOXOFFICE_HOME=/var/lib/boxoffice), \
            or run boxoffice as an unprivileged user, or set DATABASE_URL to a database of your own
            """)
    }

    /// The socket folder, 0700 and owned by the user the server runs as.
    func prepareSocketDirectory() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: socketDirectory)
        if Self.isRoot {
            try Self.run(["chown", "postgres:postgres", socketDirectory])
        }
    }

    static func serverUserCanEnter(_ path: String) -> Bool {
        (try? Subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", path])) != nil
    }
}
