import Foundation
import Testing

@testable import BoxOffice

/// The fans' page is served from the files of one folder, read at start:
/// the right content types, caching by ETag and Last-Modified, 404 for
/// anything else, and no way out of the folder.
@Suite("Static files")
struct StaticFilesTests {
    /// A folder with a page, a script, a stylesheet, a file of unknown type,
    /// a hidden file and a subfolder; and a secret next to it.
    static func folder() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("static-\(UUID().uuidString)").path
        let page = root + "/public"
        try FileManager.default.createDirectory(atPath: page + "/sub", withIntermediateDirectories: true)
        try "<!doctype html><title>t</title>".write(toFile: page + "/index.html", atomically: true, encoding: .utf8)
        try "console.log(1)".write(toFile: page + "/app.js", atomically: true, encoding: .utf8)
        try "body{}".write(toFile: page + "/style.css", atomically: true, encoding: .utf8)
        try "x".write(toFile: page + "/notes.unknownext", atomically: true, encoding: .utf8)
        try "x".write(toFile: page + "/.hidden.js", atomically: true, encoding: .utf8)
        try "x".write(toFile: page + "/sub/deep.js", atomically: true, encoding: .utf8)
        try "secret".write(toFile: root + "/secret.txt", atomically: true, encoding: .utf8)
        return page
    }

    @Test("only the folder's own files of a known type are routes, index.html also at /")
    func routes() throws {
        let files = StaticFiles(folder: try Self.folder())
        #expect(Set(files.files.keys) == ["/", "/index.html", "/app.js", "/style.css"])
        #expect(files.files["/"]?.contentType == "text/html; charset=utf-8")
        #expect(files.files["/app.js"]?.contentType == "text/javascript; charset=utf-8")
        #expect(files.files["/style.css"]?.contentType == "text/css; charset=utf-8")
        #expect(StaticFiles(folder: "/nonexistent-\(UUID().uuidString)").files.isEmpty)
    }

    @Test("the ETag changes with the bytes and only with them")
    func etags() throws {
        let page = try Self.folder()
        let first = StaticFiles(folder: page).files["/app.js"]?.etag
        #expect(StaticFiles(folder: page).files["/app.js"]?.etag == first)
        try "console.log(2)".write(toFile: page + "/app.js", atomically: true, encoding: .utf8)
        #expect(StaticFiles(folder: page).files["/app.js"]?.etag != first)
    }

    @Test("BOXOFFICE_PUBLIC_DIR wins; otherwise the repository's public/ is found")
    func folderLookup() throws {
        #expect(try Config(environment: ["BOXOFFICE_PUBLIC_DIR": "/somewhere"]).publicDirectory == "/somewhere")
        let found = try Config(environment: [:]).publicDirectory
        #expect(FileManager.default.fileExists(atPath: found + "/index.html"), "found \(found)")
    }

    @Test("GET / serves the page with its type, caching headers and a policy that allows nothing from outside")
    func page() async throws {
        try await TestServer.with { server in
            let page = try await server.client.get("/")
            #expect(page.status == 200)
            #expect(page.headers["content-type"] == "text/html; charset=utf-8")
            #expect(page.headers["cache-control"] == "no-cache")
            #expect(page.headers["x-content-type-options"] == "nosniff")
            #expect(page.headers["content-security-policy"]?.contains("default-src 'self'") == true)
            #expect(page.headers["etag"]?.hasPrefix("\"") == true)
            #expect(page.headers["last-modified"]?.hasSuffix("GMT") == true)
            #expect(String(decoding: page.body, as: UTF8.self).contains("<script src=\"/app.js\""))
            let script = try await server.client.get("/app.js")
            #expect(script.status == 200)
            #expect(script.headers["content-type"] == "text/javascript; charset=utf-8")
            let style = try await server.client.get("/style.css")
            #expect(style.headers["content-type"] == "text/css; charset=utf-8")
            // Nothing in the page's files points outside this server.
            for file in ["/", "/app.js", "/style.css"] {
                let text = String(decoding: try await server.client.get(file).body, as: UTF8.self)
                #expect(text.firstMatch(of: /(src|href)=\"(https?:)?\/\//) == nil, "\(file) loads something from outside")
                #expect(text.firstMatch(of: /url\(\s*['\"]?https?:/) == nil, "\(file) loads something from outside")
            }
        }
    }

    @Test("a matching If-None-Match or If-Modified-Since is 304 without a body; a stale one gets the file")
    func conditional() async throws {
        try await TestServer.with { server in
            let first = try await server.client.get("/app.js")
            let etag = try #require(first.headers["etag"])
            let modified = try #require(first.headers["last-modified"])
            let same = try await server.client.send("GET", "/app.js", headers: ["If-None-Match": etag])
            #expect(same.status == 304)
            #expect(same.body.isEmpty)
            #expect(same.headers["etag"] == etag)
            let since = try await server.client.send("GET", "/app.js", headers: ["If-Modified-Since": modified])
            #expect(since.status == 304)
            let stale = try await server.client.send("GET", "/app.js", headers: ["If-None-Match": "\"old\""])
            #expect(stale.status == 200)
            #expect(stale.body == first.body)
        }
    }

    @Test("an unknown file, a path out of the folder, or another name for a file is a JSON 404, never a file")
    func outside() async throws {
        let paths = [
            "/nope.js", "/../Package.swift", "/%2e%2e/Package.swift", "/..%2fPackage.swift", "/public/index.html",
            "/../public/index.html", "//etc/passwd", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/app.js%00.html",
        ]
        try await TestServer.with { server in
            for path in paths {
                let answer = try await Self.raw(server.port, "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                #expect(answer.status == 404, "\(path): \(answer.status)")
                #expect(answer.body.contains("\"NOT_FOUND\""), "\(path): \(answer.body)")
                #expect(!answer.body.contains("swift-tools-version") && !answer.body.contains("root:"))
            }
        }
    }

    /// The request as written (no client would send `..`); RawHTTP reads it
    /// off the cooperative threads that the server under test also needs.
    static func raw(_ port: Int, _ request: String) async throws -> (status: Int, body: String) {
        try await RawHTTP.exchange(port: port, request, timeout: 60)
    }

    @Test("POST / is 405 with Allow: GET")
    func method() async throws {
        try await TestServer.with { server in
            let answer = try await server.client.post("/", ["a": 1])
            #expect(answer.status == 405)
            #expect(answer.errorCode == "METHOD_NOT_ALLOWED")
            #expect(answer.headers["allow"] == "GET")
        }
    }
}
