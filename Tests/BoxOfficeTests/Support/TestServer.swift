import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

@testable import BoxOffice

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real HTTP application on a free loopback port, over a fresh database,
/// for end-to-end tests. `settings` override the policy (app.settings rows:
/// hold_seconds...), written as a DBA would before the server starts; joins
/// name their userId (user_keys optional) unless a test sets user_keys.
/// The pool runs with the default session timeouts unless `timeouts` says.
struct TestServer: Sendable {
    let port: Int
    let database: TestDatabase
    let pool: Database
    let notifier: QueueNotifier
    var client: HTTPTestClient { HTTPTestClient(port: port) }

    /// The pool's driver: DB_DRIVER of the test's environment (so the HTTP
    /// suites run with either), else serve's default.
    static var driver: Database.Driver {
        ProcessInfo.processInfo.environment["DB_DRIVER"].flatMap(Database.Driver.init(rawValue:))
            ?? (try! Config(environment: [:]).databaseDriver)
    }

    static func with<T: Sendable>(
        settings: [String: String] = [:],
        poolSize: Int = 8,
        poolWait: TimeAmount = .seconds(30),
        timeouts: Database.Timeouts? = try! Config(environment: [:]).timeouts,
        concertListTTL: Duration = .zero,
        notifierSettings: QueueNotifier.Settings = .init(),
        _ body: @Sendable (TestServer) async throws -> T
    ) async throws -> T {
        let database = try await TestDatabase.create()
        let admin = try database.admin()
        try QueueFixtures.apply(["user_keys": "optional"].merging(settings) { _, new in new }, to: admin)
        admin.close()
        // A generous wait: the whole suite runs in parallel on two cores, and
        // only the test of the wait itself wants it short.
        let pool = Database(
            .init(
                conninfo: database.apiConninfo, poolSize: poolSize, acquireTimeout: poolWait, timeouts: timeouts,
                driver: driver))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let migrator = Migrator(directory: TestPaths.sql)
        let notifier = QueueNotifier(conninfo: database.apiConninfo, database: pool, logger: logger, settings: notifierSettings)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: App.router(database: pool, migrator: migrator, notifier: notifier, concertListTTL: concertListTTL),
            server: App.server,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            services: [notifier],
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger)
        let result = try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await app.runService(gracefulShutdownSignals: [])
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            let value = try await body(TestServer(port: port, database: database, pool: pool, notifier: notifier))
            group.cancelAll()
            return value
        }
        await pool.shutdown()
        return result
    }
}

enum TestPaths {
    /// The repository root, found from this file's path.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        return FileManager.default.currentDirectoryPath
    }()
    static var sql: String { root + "/sql" }
    /// The `boxoffice` binary the process tests start: BOXOFFICE_TEST_BINARY
    /// (a build with its own --scratch-path), else the debug build scripts/test makes.
    static var binary: String {
        ProcessInfo.processInfo.environment["BOXOFFICE_TEST_BINARY"].flatMap { $0.isEmpty ? nil : $0 }
            ?? root + "/.build/debug/boxoffice"
    }
}

/// A small HTTP client over URLSession (libcurl on Linux), allowing many
/// requests at once to one host.
struct HTTPTestClient: Sendable {
    let port: Int

    struct Answer: Sendable {
        var status: Int
        var body: Data
        var headers: [String: String]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        func int(_ key: String) -> Int64? { (json[key] as? NSNumber)?.int64Value }
        func string(_ key: String) -> String? { json[key] as? String }
    }

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 512
        configuration.timeoutIntervalForRequest = 60
        return URLSession(configuration: configuration)
    }()

    func send(
        _ method: String, _ path: String, json: Any? = nil, raw: Data? = nil,
        token: String? = nil, headers: [String: String] = [:]
    ) async throws -> Answer {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let raw {
            request.httpBody = raw
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, http) = try await Self.exchange(request)
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields { fields[String(describing: key).lowercased()] = String(describing: value) }
        return Answer(status: http.statusCode, body: data, headers: fields)
    }

    /// URLSession's async `data(for:)` waits (DispatchQueue.sync) on the
    /// session's own queue from the calling thread: with many requests at
    /// once that held the threads of Swift's cooperative pool (two here),
    /// which the in-process servers and the pools of the tests running
    /// beside need. So the task is made and started (both wait on that
    /// queue) on a Dispatch thread, and its answer comes back through the
    /// completion handler.
    private static func exchange(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        let box = TaskBox()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                starting.async {
                    let task = session.dataTask(with: request) { data, response, error in
                        if let error {
                            continuation.resume(throwing: error)
                        } else if let http = response as? HTTPURLResponse {
                            continuation.resume(returning: (data ?? Data(), http))
                        } else {
                            continuation.resume(throwing: URLError(.badServerResponse))
                        }
                    }
                    box.set(task)
                    task.resume()
                }
            }
        } onCancel: {
            starting.async { box.cancel() }
        }
    }

    private static let starting = DispatchQueue(label: "boxoffice.tests.http-client", attributes: .concurrent)

    /// The task of one `exchange`, for its cancellation handler: a task
    /// cancelled before its data task exists cancels that as soon as it does.
    private final class TaskBox: @unchecked Sendable {
        private let lock = NSLock()
        private var task: URLSessionDataTask?
        private var cancelled = false

        func set(_ task: URLSessionDataTask) {
            let cancelNow = lock.withLock { () -> Bool in
                self.task = task
                return cancelled
            }
            if cancelNow { task.cancel() }
        }

        func cancel() {
            let task = lock.withLock { () -> URLSessionDataTask? in
                cancelled = true
                return self.task
            }
            task?.cancel()
        }
    }

    func get(_ path: String, token: String? = nil, headers: [String: String] = [:]) async throws -> Answer {
        try await send("GET", path, token: token, headers: headers)
    }

    func post(_ path: String, _ json: Any, token: String? = nil, headers: [String: String] = [:]) async throws -> Answer {
        try await send("POST", path, json: json, token: token, headers: headers)
    }
}
