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

    /// The targets of `[text](target)` and `<scheme://...>` links, and, outside
    /// code, of reference definitions (`[name]: target`) and bare URLs, which
    /// renderers turn into links too.
    static func links(in text: String) -> [String] {
        let inline = text.matches(of: /\]\(([^)\s]+)\)/).map { String($0.1) }
        let angled = text.matches(of: /<([a-z][a-z0-9+.-]*:\/\/[^>\s]+)>/).map { String($0.1) }
        let prose = text.replacing(/```[\s\S]*?```/, with: "").replacing(/`[^`\n]*`/, with: "")
            .replacing(/\]\([^)\s]+\)/, with: "]").replacing(/<[a-z][a-z0-9+.-]*:\/\/[^>\s]+>/, with: "")
        let definition = /^ {0,3}\[[^\]]+\]:[ \t]*(\S+)/.anchorsMatchLineEndings()
        let defined = prose.matches(of: definition).map { String($0.1) }
        let bare = prose.replacing(definition, with: "").matches(of: /https?:\/\/[^\s)>\]"'`]+/).map { String($0.0) }
        return inline + angled + defined + bare
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
        #expect(Self.links(in: "[pg_cron]: https://example.com/pg_cron\nas https://example.net says") == [
            "https://example.com/pg_cron", "https://example.net",
        ])
        #expect(Self.links(in: "run `curl https://example.com`\n```\nhttps://example.org\n```\n").isEmpty)
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
