import Foundation
import Testing

/// The project's Markdown (README.md, BENCHMARKS.md, docs/, bench/) is
/// self-contained: it links only to files in the repository (which exist) and
/// to the server itself on 127.0.0.1, and the README points at every doc.
@Suite("The docs")
struct DocsTests {
    /// Every Markdown file of the project, relative to the root.
    static func markdownFiles() throws -> [String] {
        var files = ["README.md", "BENCHMARKS.md"]
        for folder in ["docs", "bench"] {
            let enumerator = try #require(FileManager.default.enumerator(atPath: TestPaths.root + "/" + folder))
            while let path = enumerator.nextObject() as? String {
                if path.hasSuffix(".md") { files.append(folder + "/" + path) }
            }
        }
        return files
    }

    /// The targets of `[text](target)` and `<scheme://...>` links.
    static func links(in text: String) -> [String] {
        text.matches(of: /\]\(([^)\s]+)\)/).map { String($0.1) }
            + text.matches(of: /<([a-z][a-z0-9+.-]*:\/\/[^>\s]+)>/).map { String($0.1) }
    }

    @Test("no link leaves the repository, and every link to a file in it finds the file")
    func selfContained() throws {
        let files = try Self.markdownFiles()
        #expect(files.contains("docs/webhooks.md") && files.contains("docs/pg_cron.md"))
        var checked = 0
        for file in files {
            let text = try String(contentsOfFile: TestPaths.root + "/" + file, encoding: .utf8)
            for target in Self.links(in: text) {
                checked += 1
                if target.contains(/^[a-z][a-z0-9+.-]*:/) {
                    #expect(
                        target.hasPrefix("http://127.0.0.1") || target.hasPrefix("http://localhost"),
                        "\(file) links outside the repository: \(target)")
                    continue
                }
                let path = String(target.prefix { $0 != "#" })
                guard !path.isEmpty else { continue }
                let folder = URL(fileURLWithPath: TestPaths.root + "/" + file).deletingLastPathComponent()
                #expect(
                    FileManager.default.fileExists(atPath: folder.appendingPathComponent(path).standardized.path),
                    "\(file) links to \(target), which is not in the repository")
            }
        }
        #expect(checked > 50, "found only \(checked) links: the pattern no longer reads the Markdown")
        #expect(Self.links(in: "see [it](https://example.com/) and <https://example.org>").count == 2)
    }

    @Test("the README points at every doc in docs/")
    func readmeIndex() throws {
        let readme = try String(contentsOfFile: TestPaths.root + "/README.md", encoding: .utf8)
        let pointed = Set(Self.links(in: readme).map { String($0.prefix { $0 != "#" }) })
        let docs = try FileManager.default.contentsOfDirectory(atPath: TestPaths.root + "/docs").filter { $0.hasSuffix(".md") }
        #expect(docs.contains("webhooks.md"))
        for doc in docs {
            #expect(pointed.contains("docs/" + doc), "README.md does not point at docs/\(doc)")
        }
    }
}
