import Foundation
import Testing

@testable import BoxOffice

/// The documents and the code must agree: openapi.yaml with the route table,
/// docs/api.md with both and with the codes each route's SQL function raises,
/// the README's error table with the codes the SQL raises and the Swift map.
@Suite("The contract documents")
struct ContractTests {
    static let operational = ["GET /health", "GET /ready", "GET /metrics"]

    static var routed: Set<String> { Set(Routes.table.map { "\($0.method.rawValue) \($0.path)" } + operational) }

    @Test("openapi.yaml describes exactly the routes of the route table")
    func openAPIMatchesRoutes() throws {
        let documented = Set(try OpenAPIDocument.read().operations.keys)
        #expect(documented.subtracting(Self.routed).isEmpty, "documented but not routed")
        #expect(Self.routed.subtracting(documented).isEmpty, "routed but not documented")
    }

    @Test("docs/api.md's route table lists exactly the routes of the route table")
    func apiDocListsRoutes() throws {
        let documented = try APIDoc.read().routes.map(\.route)
        #expect(Set(documented).count == documented.count, "a route is listed twice in docs/api.md")
        #expect(Set(documented).subtracting(Self.routed).isEmpty, "in docs/api.md but not routed")
        #expect(Self.routed.subtracting(documented).isEmpty, "routed but not in docs/api.md")
    }

    @Test("docs/api.md's error table gives each route the statuses and codes openapi.yaml declares for it")
    func apiDocErrorsMatchOpenAPI() throws {
        let doc = try APIDoc.read()
        let operations = try OpenAPIDocument.read().operations
        let documented = try doc.errorsByRoute()
        for route in doc.routes.map(\.route) {
            let listed = documented[route] ?? []
            let declared = operations[route]?.errors ?? []
            #expect(
                listed.symmetricDifference(declared).isEmpty,
                """
                \(route): docs/api.md lists \(listed.subtracting(declared).sorted()), which openapi.yaml does not declare, \
                and lacks \(declared.subtracting(listed).sorted()), which it declares
                """)
        }
    }

    @Test("openapi.yaml declares each code a route's api function raises, and of the database's codes only those")
    func openAPIErrorsMatchSQL() throws {
        let doc = try APIDoc.read()
        let operations = try OpenAPIDocument.read().operations
        let raised = try Self.raisedByContractComment()
        // The server itself answers these too (a malformed request, no token, a token that is not a UUID).
        let alsoFromServer: Set = ["BAD_REQUEST", "TOKEN_MISSING", "TOKEN_INVALID"]
        let databaseCodes = Set(ErrorCodes.bySQLState.values.map(\.code)).subtracting(alsoFromServer)
        for route in doc.routes where !route.function.isEmpty {
            let states = try #require(raised[route.function], "api.\(route.function) (docs/api.md, \(route.route)) has no contract comment")
            let fromSQL = Set(
                try states.map { state in
                    let mapped = try #require(ErrorCodes.bySQLState[state], "api.\(route.function)'s comment names \(state), which is not mapped")
                    return "\(mapped.status.code) \(mapped.code)"
                })
            let operation = try #require(operations[route.route], "\(route.route) is not in openapi.yaml")
            let declared = operation.errors.filter { databaseCodes.contains(String($0.split(separator: " ")[1])) }
            #expect(fromSQL.isSubset(of: operation.errors), "\(route.route): api.\(route.function) raises \(fromSQL.subtracting(operation.errors).sorted()), which openapi.yaml does not declare")
            #expect(declared.isSubset(of: fromSQL), "\(route.route): openapi.yaml declares \(declared.subtracting(fromSQL).sorted()), which api.\(route.function) never raises")
            if let named = operation.function {
                #expect(named == route.function, "\(route.route): openapi.yaml names api.\(named), docs/api.md api.\(route.function)")
            }
        }
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

    /// The SQLSTATEs the contract comment of each api function names after
    /// "Errors:" (sql/procedures), by function name.
    static func raisedByContractComment() throws -> [String: Set<String>] {
        var raised: [String: Set<String>] = [:]
        let directory = TestPaths.sql + "/procedures"
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".sql") {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            for match in text.matches(of: /comment on function api\.(\w+)\([^)]*\) is\s*'((?:[^']|'')*)'/) {
                let errors = match.2.firstRange(of: "Errors:").map { match.2[$0.upperBound...] } ?? ""
                raised[String(match.1), default: []].formUnion(errors.matches(of: /CR[0-9A-Z]{3}/).map { String($0.0) })
            }
        }
        return raised
    }
}

/// The error codes a description in openapi.yaml starts with:
/// `"QUEUE_WAITING, TOKEN_FORBIDDEN: the token ..."`.
private func leadingCodes(_ description: Substring) -> [String] {
    guard let match = description.firstMatch(of: /^"?([A-Z][A-Z_]*(?:, [A-Z][A-Z_]*)*):/) else { return [] }
    return match.1.split(separator: ", ").map(String.init)
}

/// What openapi.yaml says of each operation ("METHOD /path"): the error
/// statuses it declares, each with its codes ("409 SEAT_TAKEN"; "409 ?"
/// for a status whose description names none), and the api function its
/// description names. Read line by line, in the layout the file keeps.
struct OpenAPIDocument {
    struct Operation {
        var errors: Set<String> = []
        var function: String?
    }
    var operations: [String: Operation] = [:]

    static func read() throws -> OpenAPIDocument {
        let yaml = try String(contentsOfFile: TestPaths.root + "/openapi.yaml", encoding: .utf8)
        var document = OpenAPIDocument()
        var section = "", path = "", operation: String?, response = ""
        var multiLine: (operation: String, status: Int)?
        var references: [(operation: String, status: Int, name: String)] = []
        var sharedCodes: [String: [String]] = [:]
        func add(_ operation: String, _ status: Int, _ codes: [String]) {
            for code in codes.isEmpty ? ["?"] : codes { document.operations[operation]?.errors.insert("\(status) \(code)") }
        }
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first != " ", first != "#" {
                section = String(line.prefix { $0 != ":" })
                continue
            }
            if section == "components" {
                if let match = line.wholeMatch(of: #/ {4}(\w+):/#) { response = String(match.1) }
                if let match = line.wholeMatch(of: #/ {6}description: (.*)/#), sharedCodes[response] == nil {
                    sharedCodes[response] = leadingCodes(match.1)
                }
            }
            guard section == "paths" else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
                operation = nil
            } else if let match = line.wholeMatch(of: #/ {4}(get|post|put|patch|delete):/#) {
                operation = "\(match.1.uppercased()) \(path)"
                document.operations[operation!] = Operation()
            } else if let operation {
                if document.operations[operation]?.function == nil, let match = line.firstMatch(of: /`api\.(\w+)\(/) {
                    document.operations[operation]?.function = String(match.1)
                }
                if let match = line.wholeMatch(of: #/ {8}"([0-9]{3})":(.*)/#), let status = Int(match.1) {
                    multiLine = nil
                    guard status >= 400 else { continue }
                    if let reference = match.2.firstMatch(of: /\$ref: "#\/components\/responses\/(\w+)"/) {
                        references.append((operation, status, String(reference.1)))
                    } else if let description = match.2.firstMatch(of: /description: (.*)/) {
                        add(operation, status, leadingCodes(description.1))
                    } else {
                        multiLine = (operation, status)
                    }
                } else if let pending = multiLine, let description = line.wholeMatch(of: #/ {10}description: (.*)/#) {
                    add(pending.operation, pending.status, leadingCodes(description.1))
                    multiLine = nil
                }
            }
        }
        for reference in references { add(reference.operation, reference.status, sharedCodes[reference.name] ?? []) }
        return document
    }
}

/// docs/api.md's two tables: the routes (method and path, token, request,
/// `api` function) and the errors each route can answer.
struct APIDoc {
    struct Route {
        let route: String
        let token: String
        let request: String
        let function: String
    }
    let text: String
    let routes: [Route]

    static func read() throws -> APIDoc {
        let text = try String(contentsOfFile: TestPaths.root + "/docs/api.md", encoding: .utf8)
        let rows = try table(text, headedBy: "| method and path | token | request | success | `api` function |")
        let routes = try rows.map { cells in
            try #require(cells.count == 5, "docs/api.md's route table: \(cells)")
            return Route(
                route: cells[0].replacing("`", with: ""), token: cells[1], request: cells[2],
                function: cells[4].replacing("`", with: ""))
        }
        return APIDoc(text: text, routes: routes)
    }

    /// The rows after the header line (and its rule), as trimmed cells.
    static func table(_ text: String, headedBy header: String) throws -> [[String]] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.hasPrefix(header) }, "docs/api.md has no table headed \(header)")
        return lines[(start + 2)...].prefix { $0.hasPrefix("|") }.map { line in
            line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
    }

    /// The error table read per route: its own row and every shared row
    /// that applies to it, as "STATUS CODE" ("400 ?" for a status given
    /// without a code). Text in parentheses is commentary.
    func errorsByRoute() throws -> [String: Set<String>] {
        var errors: [String: Set<String>] = [:]
        for cells in try Self.table(text, headedBy: "| route | errors |") {
            try #require(cells.count == 2, "docs/api.md's error table: \(cells)")
            let applies = try #require(routes(named: cells[0]), "docs/api.md's error table: \(cells[0]) names no route of its route table")
            for route in applies { errors[route.route, default: []].formUnion(Self.statusesAndCodes(cells[1])) }
        }
        return errors
    }

    /// The routes a row of the error table is about: its shared rows by
    /// their words, the others by their `METHOD /path` names.
    func routes(named label: String) -> [Route]? {
        let named = label.matches(of: /`([^`]+)`/).map { String($0.1) }
        if label.hasPrefix("every route but ") {
            return routes.filter { route in !named.contains { route.route.hasSuffix(" " + $0) } }
        }
        switch label {
        case "every `POST` with a body": return routes.filter { $0.route.hasPrefix("POST ") && !$0.request.isEmpty }
        case "every route with a token": return routes.filter { $0.token.hasPrefix("any live") || $0.token.hasPrefix("ACTIVE") }
        case "any path": return []  // paths that are no route: nothing an operation declares
        default:
            let listed = routes.filter { named.contains($0.route) }
            return !named.isEmpty && listed.count == named.count ? listed : nil
        }
    }

    static func statusesAndCodes(_ cell: String) -> Set<String> {
        var text = cell
        while let aside = text.firstRange(of: /\([^()]*\)/) { text.removeSubrange(aside) }
        var found: Set<String> = []
        var status: Substring?
        var named = true
        for match in text.matches(of: /\b([1-5][0-9]{2})\b|`([A-Z][A-Z_]+)`/) {
            if let next = match.1 {
                if !named, let status { found.insert("\(status) ?") }
                status = next
                named = false
            } else if let code = match.2 {
                found.insert("\(status ?? "?") \(code)")
                named = true
            }
        }
        if !named, let status { found.insert("\(status) ?") }
        return found
    }
}
