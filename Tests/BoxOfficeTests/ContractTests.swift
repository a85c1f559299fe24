import Foundation
import Testing

@testable import BoxOffice

/// The documents and the code must agree: openapi.yaml with the route table,
/// the README's error table with the codes the SQL raises and the Swift map.
@Suite("The contract documents")
struct ContractTests {
    static let operational = ["GET /health", "GET /ready", "GET /metrics"]

    @Test("openapi.yaml describes exactly the routes of the route table")
    func openAPIMatchesRoutes() throws {
        let yaml = try String(contentsOfFile: TestPaths.root + "/openapi.yaml", encoding: .utf8)
        var documented: Set<String> = []
        var path: String?
        var inPaths = false
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("paths:") { inPaths = true; continue }
            if inPaths, let first = line.first, first != " ", first != "#" { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, let match = line.wholeMatch(of: #/ {4}(get|post|put|patch|delete):/#) {
                documented.insert("\(match.1.uppercased()) \(path)")
            }
        }
        let routed = Set(Routes.table.map { "\($0.method.rawValue) \($0.path)" } + Self.operational)
        #expect(documented.subtracting(routed).isEmpty, "documented but not routed")
        #expect(routed.subtracting(documented).isEmpty, "routed but not documented")
    }

    @Test("every SQLSTATE raised in sql/ is mapped in Swift and listed in the README")
    func errorCodesListed() throws {
        let readme = try String(contentsOfFile: TestPaths.root + "/README.md", encoding: .utf8)
        var raised: Set<String> = []
        let folders = ["procedures", "migrations", "migrations/after"]
        for folder in folders {
            let directory = TestPaths.sql + "/" + folder
            for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".sql") {
                let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
                for match in text.matches(of: /errcode\s*=\s*'(CR[0-9A-Z]{3})'/) { raised.insert(String(match.1)) }
            }
        }
        #expect(raised.count > 10)
        for code in raised.sorted() {
            let mapped = try #require(ErrorCodes.bySQLState[code], "\(code) is raised in sql/ but not mapped in ErrorCodes.swift")
            #expect(readme.contains("| \(code) | \(mapped.code) | \(mapped.status.code) |"), "\(code) missing from the README's error table")
        }
    }
}
