import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

/// The fan-out behind `GET /api/queue/tokens/me/events`: every open stream of
/// this instance is registered here, and this one place decides which tickets
/// to read again, so that what one admission costs the database does not grow
/// with the number of streams open.
///
/// - One connection LISTENs for the admission job's `NOTIFY boxoffice_queue,
///   '<concertId>'`. Per NOTIFY of a concert with open streams: one read of
///   its watermark (`api.queue_events_watermark`), then `api.queue_status` for
///   the streams whose place (`api.queue_events_place`, read with each ticket)
///   is at or below it, the ones admitted or gone since, and for the `front`
///   streams next in line, whose position moved and who are next to go in.
///   Streams further back are not read: their position moves by the same
///   admission, and they hear it at their next refresh.
/// - When a scheduled sale opens (`NOTIFY boxoffice_queue, '<concertId>
///   opened'`), every stream of that concert is read at once: the opening
///   shuffled the pre-queue's places and gave everyone a position.
/// - Every stream's ticket is read again every `refresh` (15 s): the
///   heartbeat the contract asks for, the "still here" poll that keeps a
///   WAITING place, and the fallback for an admission this instance missed.
/// - Every `sweep` (5 s), and after the listener reconnects, each concert with
///   open streams gets the same read as after a NOTIFY, because a NOTIFY sent
///   while the listener was away is lost.
///
/// So one admission costs each instance one watermark read plus one ticket
/// read per stream of that instance admitted (at most the admission's size)
/// plus `front`; the steady cost is one ticket read per stream per `refresh`.
/// Reads run at most `parallel` at a time (a sliding window), on the HTTP pool.
public final class QueueNotifier: Service, Sendable {
    public struct Settings: Sendable {
        public var refresh: Duration = .seconds(15)
        public var sweep: Duration = .seconds(5)
        public var front: Int = 8
        public var parallel: Int = 4
        public init() {}
    }

    /// What a stream is told: its Ticket JSON, or the error that ends it
    /// (UNAVAILABLE does not end it; the next read may work).
    enum Update: Sendable {
        case ticket(String)
        case failed(APIError)
    }

    /// How many reads the fan-out made (for tests and `/metrics`).
    public struct Reads: Sendable, Equatable {
        public var watermarks: Int = 0
        public var tickets: Int = 0
    }

    /// Why a ticket was read: `/metrics` counts
    /// `boxoffice_queue_event_reads_total{reason}`: `open` (a stream's first
    /// read), `scan` (after a NOTIFY, a sweep or a reconnect), `refresh` (the
    /// 15 s heartbeat), and `watermark` for the watermark reads, so an
    /// operator sees what admissions cost apart from the steady refresh.
    enum Reason: String, Sendable {
        case open, scan, refresh, watermark
        var counter: Counter {
            switch self {
            case .open: Self.openCounter
            case .scan: Self.scanCounter
            case .refresh: Self.refreshCounter
            case .watermark: Self.watermarkCounter
            }
        }
        private static let label = "boxoffice_queue_event_reads_total"
        private static let openCounter = Counter(label: label, dimensions: [("reason", "open")])
        private static let scanCounter = Counter(label: label, dimensions: [("reason", "scan")])
        private static let refreshCounter = Counter(label: label, dimensions: [("reason", "refresh")])
        private static let watermarkCounter = Counter(label: label, dimensions: [("reason", "watermark")])
    }

    private struct Subscriber {
        let token: String
        let concertId: Int64
        var place: Int64?
        var due: ContinuousClock.Instant
        var busy = false
        /// Read again as soon as the read in flight ends (a sale opened while it ran).
        var readAgain = false
        let continuation: AsyncStream<Update>.Continuation
    }

    private struct State {
        var subscribers: [UInt64: Subscriber] = [:]
        var nextId: UInt64 = 0
        var pendingConcerts: Set<Int64> = []
        var reads = Reads()
    }

    static let ticketSQL =
        "select api.queue_status(token => $1::uuid)::text, api.queue_events_place(token => $1::uuid)::text"
    static let watermarkSQL = "select api.queue_events_watermark(concert_id => $1::bigint)::text"

    private let conninfo: String
    private let database: Database
    private let logger: Logger
    public let settings: Settings
    private let state = NIOLockedValueBox(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let thread = NIOThreadPool(numberOfThreads: 1)

    public init(conninfo: String, database: Database, logger: Logger, settings: Settings = Settings()) {
        self.conninfo = conninfo
        self.database = database
        self.logger = logger
        self.settings = settings
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var reads: Reads { state.withLockedValue { $0.reads } }

    public var openStreams: Int { state.withLockedValue { $0.subscribers.count } }

    // MARK: streams

    /// Registers a stream whose first ticket the caller has just read; its
    /// first refresh is due somewhere in the second half of `refresh` (so
    /// that a crowd arriving at once does not refresh in one burst forever
    /// after), the next ones every `refresh`. End it with `unsubscribe`.
    func subscribe(token: String, concertId: Int64, place: Int64?) -> (id: UInt64, updates: AsyncStream<Update>) {
        let (updates, continuation) = AsyncStream.makeStream(of: Update.self)
        let id = state.withLockedValue { state in
            state.nextId += 1
            state.subscribers[state.nextId] = Subscriber(
                token: token, concertId: concertId, place: place, due: .now + settings.refresh * Double.random(in: 0.5...1),
                continuation: continuation)
            return state.nextId
        }
        return (id, updates)
    }

    func unsubscribe(_ id: UInt64) {
        let gone = state.withLockedValue { $0.subscribers.removeValue(forKey: id) }
        gone?.continuation.finish()
    }

    /// The first read of a stream, before it is registered: the ticket
    /// (errors thrown, to be answered as JSON) and its place.
    func firstRead(token: String?) async throws -> (ticket: String, place: Int64?) {
        let row = try await database.query(Self.ticketSQL, [token], lane: .line).rows.first
        count { $0.tickets += 1 }
        Reason.open.counter.increment()
        return (row?.first.flatMap { $0 } ?? "null", row?.last.flatMap { $0 }.flatMap { Int64($0) })
    }

    // MARK: the service

    public func run() async throws {
        thread.start()
        defer { thread.shutdownGracefully { _ in } }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listen() }
                group.addTask { await self.scanWhenWoken() }
                group.addTask { await self.refreshWhenDue() }
                group.addTask { await self.sweepEvery() }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        let all = state.withLockedValue { state in
            defer { state.subscribers.removeAll() }
            return state.subscribers.values.map(\.continuation)
        }
        for continuation in all { continuation.finish() }
    }

    private var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully }

    private func listen() async {
        let connection = Connection(conninfo: conninfo, options: Connection.watchful)
        defer { connection.close() }
        while !stopping {
            do {
                let (notes, reconnected) = try await thread.runIfActive {
                    () throws -> ([(channel: String, payload: String)], Bool) in
                    var reconnected = false
                    if !connection.isHealthy() {
                        try connection.connect()
                        try connection.run(script: "listen boxoffice_queue")
                        reconnected = true
                    }
                    return (try connection.waitForNotifications(timeout: 0.5), reconnected)
                }
                // After a (re)connect, NOTIFYs of the time away are lost: look at every concert.
                let payloads = notes.map { Payload($0.payload) }
                let concerts = reconnected ? concertsWithStreams() : Set(payloads.compactMap(\.concertId))
                if !concerts.isEmpty { schedule(concerts) }
                let opened = Set(payloads.filter(\.opened).compactMap(\.concertId))
                if !opened.isEmpty { refreshNow(opened) }
            } catch {
                logger.warning("queue listener lost its connection", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// A NOTIFY's payload: `<concertId>` after an admission, `<concertId>
    /// opened` when a scheduled sale opened.
    struct Payload: Equatable {
        var concertId: Int64?
        var opened: Bool

        init(_ text: String) {
            let words = text.split(separator: " ")
            concertId = words.first.flatMap { Int64($0) }
            opened = words.count == 2 && words[1] == "opened"
        }
    }

    /// A sale opened: every stream of those concerts is read at once (its
    /// place was shuffled and its position appeared), one read each, once
    /// per sale, instead of at its next refresh.
    private func refreshNow(_ concerts: Set<Int64>) {
        state.withLockedValue { state in
            for (id, subscriber) in state.subscribers where concerts.contains(subscriber.concertId) {
                if subscriber.busy {
                    state.subscribers[id]?.readAgain = true
                } else {
                    state.subscribers[id]?.due = .now
                }
            }
        }
    }

    private func concertsWithStreams() -> Set<Int64> {
        state.withLockedValue { Set($0.subscribers.values.map(\.concertId)) }
    }

    private func schedule(_ concerts: Set<Int64>) {
        let any = state.withLockedValue { state in
            let watched = Set(state.subscribers.values.map(\.concertId))
            let wanted = concerts.intersection(watched)
            state.pendingConcerts.formUnion(wanted)
            return !wanted.isEmpty
        }
        if any { wake.yield() }
    }

    private func sweepEvery() async {
        while !stopping {
            try? await Task.sleep(for: settings.sweep)
            schedule(concertsWithStreams())
        }
    }

    /// Scans the concerts NOTIFYs named, one at a time; NOTIFYs arriving
    /// meanwhile coalesce into the next scan of their concert.
    private func scanWhenWoken() async {
        for await _ in wakeups {
            let concerts = state.withLockedValue { state in
                defer { state.pendingConcerts.removeAll() }
                return state.pendingConcerts
            }
            for concertId in concerts.sorted() where !stopping {
                await scan(concertId)
            }
        }
    }

    /// One concert after an admission: one watermark read, then the streams
    /// at or below it and the `front` next ones.
    func scan(_ concertId: Int64) async {
        let watermark: Int64
        do {
            let text = try await database.query(Self.watermarkSQL, [String(concertId)], lane: .line).scalar
            count { $0.watermarks += 1 }
            Reason.watermark.counter.increment()
            guard let value = text.flatMap({ Int64($0) }) else { return }
            watermark = value
        } catch {
            logger.debug("queue events: watermark read failed", metadata: ["error": "\(error)"])
            return
        }
        let chosen: [(UInt64, String)] = state.withLockedValue { state in
            let waiting = state.subscribers.filter { $0.value.concertId == concertId && !$0.value.busy && $0.value.place != nil }
            let through = waiting.filter { $0.value.place! <= watermark }
            let next = waiting.filter { $0.value.place! > watermark }.sorted { $0.value.place! < $1.value.place! }.prefix(
                settings.front)
            let ids = through.map(\.key) + next.map(\.key)
            for id in ids { state.subscribers[id]?.busy = true }
            return ids.map { ($0, state.subscribers[$0]!.token) }
        }
        await read(chosen, reason: .scan)
    }

    private func refreshWhenDue() async {
        while !stopping {
            try? await Task.sleep(for: .milliseconds(250))
            let now = ContinuousClock.now
            let due: [(UInt64, String)] = state.withLockedValue { state in
                let ids = state.subscribers.filter { !$0.value.busy && $0.value.due <= now }.map(\.key)
                for id in ids { state.subscribers[id]?.busy = true }
                return ids.map { ($0, state.subscribers[$0]!.token) }
            }
            if !due.isEmpty { await read(due, reason: .refresh) }
        }
    }

    /// Reads the tickets of `streams`, `parallel` at a time, and tells each
    /// stream what it got; each one's next refresh is due `refresh` later.
    private func read(_ streams: [(id: UInt64, token: String)], reason: Reason) async {
        await withTaskGroup(of: Void.self) { group in
            // A sliding window: a new read starts as soon as one ends.
            var next = 0
            func startNext() {
                guard next < streams.count else { return }
                let stream = streams[next]
                next += 1
                group.addTask { await self.readOne(id: stream.id, token: stream.token, reason: reason) }
            }
            for _ in 0..<settings.parallel { startNext() }
            while await group.next() != nil { startNext() }
        }
    }

    private func readOne(id: UInt64, token: String, reason: Reason) async {
        let update: Update
        var place: Int64?
        do {
            let row = try await database.query(Self.ticketSQL, [token], lane: .line).rows.first
            update = .ticket(row?.first.flatMap { $0 } ?? "null")
            place = row?.last.flatMap { $0 }.flatMap { Int64($0) }
        } catch {
            update = .failed(APIError.from(error, logger: logger))
        }
        count { $0.tickets += 1 }
        reason.counter.increment()
        let continuation: AsyncStream<Update>.Continuation? = state.withLockedValue { state in
            guard var subscriber = state.subscribers[id] else { return nil }
            subscriber.busy = false
            subscriber.due = subscriber.readAgain ? .now : .now + settings.refresh
            subscriber.readAgain = false
            if case .ticket = update { subscriber.place = place }
            state.subscribers[id] = subscriber
            return subscriber.continuation
        }
        continuation?.yield(update)
    }

    private func count(_ change: (inout Reads) -> Void) {
        state.withLockedValue { change(&$0.reads) }
    }
}
