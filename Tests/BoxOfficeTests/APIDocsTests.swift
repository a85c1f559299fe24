import Foundation
import Testing

@testable import BoxOffice

/// `GET /docs` and `GET /openapi.yaml`: the API's documentation from the
/// repository's own files, and nothing the page would fetch from elsewhere.
@Suite("The API documentation the server serves")
struct APIDocsTests {
    @Test("/openapi.yaml is the repository's document; /docs and its files are served with their types")
    func served() async throws {
        try await TestServer.with { server in
            let yaml = try await server.client.get("/openapi.yaml")
            #expect(yaml.status == 200)
            #expect(yaml.headers["content-type"]?.hasPrefix("application/yaml") == true)
            #expect(yaml.body == FileManager.default.contents(atPath: TestPaths.root + "/openapi.yaml"))

            let page = try await server.client.get("/docs")
            #expect(page.status == 200)
            #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
            let html = String(decoding: page.body, as: UTF8.self)
            #expect(html.contains("/docs/viewer.mjs") && html.contains("/docs/viewer.css"))

            for (path, type) in [
                ("/docs/viewer.mjs", "text/javascript"), ("/docs/yaml.mjs", "text/javascript"), ("/docs/viewer.css", "text/css"),
            ] {
                let file = try await server.client.get(path)
                #expect(file.status == 200, "\(path)")
                #expect(file.headers["content-type"]?.hasPrefix(type) == true, "\(path): \(file.headers)")
            }
        }
    }

    @Test("only the viewer's files are served: another path is a JSON 404, another method a 405")
    func nothingElse() async throws {
        try await TestServer.with { server in
            for path in ["/docs/check.mjs", "/docs/../README.md", "/docs/index.html", "/docs/openapi-viewer/yaml.mjs"] {
                let answer = try await server.client.get(path)
                #expect(answer.status == 404, "\(path)")
                #expect(answer.errorCode == "NOT_FOUND", "\(path)")
            }
            let post = try await server.client.send("POST", "/docs", raw: Data("{}".utf8))
            #expect(post.status == 405)
            #expect(post.errorCode == "METHOD_NOT_ALLOWED")
        }
    }

    @Test("the page's files load nothing from another origin")
    func selfContained() throws {
        let served = APIDocs.files.filter { $0.path.hasPrefix("/docs") }
        #expect(served.count == 4)
        for entry in served {
            let text = try String(contentsOfFile: TestPaths.root + "/" + entry.file, encoding: .utf8)
            #expect(!text.contains("http://") && !text.contains("https://"), "\(entry.file) names another origin")
            #expect(text.firstMatch(of: /(src|href)\s*=\s*["']\/\//) == nil, "\(entry.file) loads a protocol-relative URL")
            #expect(
                text.firstMatch(of: /import\s[^;]*from\s*["'](?!\.\/)/) == nil,
                "\(entry.file) imports a module from outside the folder")
        }
    }
}
