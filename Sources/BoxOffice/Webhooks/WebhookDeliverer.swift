import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Delivers the outbox's events to `WEBHOOK_URL` (docs/webhooks.md), while
/// this instance's scheduler is the leader.
///
/// - Its own pool (`database`, two connections under the HTTP pool's
///   session timeouts, through the same address and with the same
///   `DB_PREPARED_STATEMENTS`: `Server.webhookPool`) and its own event loop,
///   so a receiver that hangs costs the HTTP pool and the scheduler's jobs
///   nothing; no connection is held during a POST; at most `maxInFlight`
///   POSTs at once, each bounded by `timeout`.
/// - `api.webhook_claim` hands out due events, leased for the timeout plus a
///   margin; `api.webhook_attempt_finish` records each attempt and decides
///   the next: delivered on 2xx, else a growing back-off, then DEAD. A process
///   killed mid-attempt leaves its events to be claimed again when their lease
///   runs out, by whichever instance leads then: at least once, and a
///   repeat carries the same `webhook-id`.
/// - Order per reservation is the claim's (a later event of a reservation is
///   not claimed while an earlier one is PENDING).
/// - On graceful shutdown it claims nothing more and lets the POSTs in flight
///   finish (each bounded by `timeout`); under cancellation it stops at once,
///   and the lease brings the events back.
public struct WebhookDeliverer: Service {
    public struct Settings: Sendable {
        public var endpoint: WebhookEndpoint
        public var signer: WebhookSigner
        public var timeout: Duration = .seconds(10)
        public var maxInFlight = 8
        public var maxAttempts = 15
        public var retrySeconds = 5.0
        public var maxRetrySeconds = 3600.0
        /// How often to look for due events when there were none.
        public var pollInterval: Duration = .milliseconds(250)

        public init(endpoint: WebhookEndpoint, signer: WebhookSigner) {
            self.endpoint = endpoint
            self.signer = signer
        }
    }

    let settings: Settings
    let database: Database
    let leadership: Leadership
    let instance: String
    let logger: Logger

    /// - Parameters:
    ///   - database: a pool of the deliverer's own (claims and records only;
    ///     no connection is held during a POST). The caller shuts it down.
    ///   - leadership: set by this instance's scheduler; only the leader delivers.
    public init(settings: Settings, database: Database, leadership: Leadership, instance: String, logger: Logger) {
        self.settings = settings
        self.database = database
        self.leadership = leadership
        self.instance = instance
        var logger = logger
        logger[metadataKey: "instance"] = "\(instance)"
        self.logger = logger
    }

    struct Event: Sendable {
        var eventID: Int64
        var webhookID: String
        var kind: String
        var attempt: Int
        var body: [UInt8]
    }

    enum Step: Sendable { case delivered, tick }

    public func run() async {
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = WebhookClient(
            endpoint: settings.endpoint, group: loop, timeout: .nanoseconds(Int64(settings.timeout.seconds * 1e9)))
        await withTaskGroup(of: Step.self) { group in
            var inFlight = 0
            var ticking = false
            var claimFailures = 0
            while !Task.isCancelled && !Self.isShuttingDown {
                if leadership.isLeader && inFlight < settings.maxInFlight {
                    do {
                        let events = try await claim(settings.maxInFlight - inFlight)
                        claimFailures = 0
                        for event in events {
                            group.addTask {
                                await deliver(event, client: client)
                                return .delivered
                            }
                        }
                        inFlight += events.count
                    } catch {
                        claimFailures += 1
                        if claimFailures == 1 {
                            logger.error("webhooks: cannot claim events", metadata: ["error": "\(error)"])
                        }
                    }
                }
                // Claim again when a POST ends (a slot is free, and the next
                // event of its reservation may be due) or at the next tick.
                if !ticking {
                    ticking = true
                    let pause = settings.pollInterval
                    group.addTask {
                        try? await Task.sleep(for: pause)
                        return .tick
                    }
                }
                switch await group.next() {
                case .delivered: inFlight -= 1
                case .tick: ticking = false
                case nil: break
                }
            }
            // Stopping: the POSTs in flight finish (each within the timeout)
            // and are recorded; the pending tick is let run out.
            while let step = await group.next() {
                if step == .delivered { inFlight -= 1 }
            }
        }
        try? await loop.shutdownGracefully()
        logger.notice("webhooks: stopped")
    }

    private static var isShuttingDown: Bool {
        // Graceful shutdown of the service group.
        Task.isShuttingDownGracefully
    }

    private func claim(_ count: Int) async throws -> [Event] {
        let lease = Int(settings.timeout.seconds.rounded(.up)) + 5
        let rows = try await database.query(
            "select event_id, webhook_id, kind, attempt, body from api.webhook_claim($1::integer, $2::integer)",
            [String(count), String(lease)])
        return rows.rows.compactMap { row in
            guard let id = row[0].flatMap({ Int64($0) }), let webhookID = row[1], let kind = row[2],
                let attempt = row[3].flatMap({ Int($0) }), let body = row[4]
            else { return nil }
            return Event(eventID: id, webhookID: "msg_" + webhookID, kind: kind, attempt: attempt, body: Array(body.utf8))
        }
    }

    /// One attempt: POST, then record it (retrying the record a few times,
    /// since an unrecorded success would be sent again after the lease).
    private func deliver(_ event: Event, client: WebhookClient) async {
        let started = Date()
        let timestamp = Int(started.timeIntervalSince1970)
        let headers = [
            ("webhook-id", event.webhookID),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", settings.signer.signature(id: event.webhookID, timestamp: timestamp, body: event.body)),
        ]
        var status: Int?
        var head: String?
        var failure: String?
        do {
            let answer = try await client.post(body: event.body, headers: headers)
            status = answer.status
            head = answer.head
        } catch {
            failure = "\(error)"
        }
        let durationMs = max(0, Int(Date().timeIntervalSince(started) * 1000))
        Metrics.webhookAttempts.increment()
        let metadata: Logger.Metadata = [
            "event": "\(event.eventID)", "type": "\(event.kind)", "attempt": "\(event.attempt)",
            "status": "\(status.map(String.init) ?? "none")", "error": "\(failure ?? "")",
        ]
        let params: [String?] = [
            String(event.eventID), String(event.attempt), instance, String(durationMs),
            status.map(String.init), head.map { String($0.unicodeScalars.filter { $0 != "\0" }) }, failure,
            String(settings.maxAttempts), String(settings.retrySeconds), String(settings.maxRetrySeconds),
        ]
        for attempt in 1...3 {
            do {
                let outcome = try await database.query(
                    """
                    select api.webhook_attempt_finish($1::bigint, $2::integer, $3, $4::integer,
                      $5::integer, $6, $7, $8::integer, $9::double precision, $10::double precision)
                    """, params
                ).scalar
                switch outcome {
                case "DELIVERED": logger.debug("webhook delivered", metadata: metadata)
                case "DEAD":
                    Metrics.webhookDead.increment()
                    logger.error("webhook dead after its last attempt", metadata: metadata)
                default: logger.info("webhook attempt failed; will retry", metadata: metadata)
                }
                return
            } catch {
                if attempt == 3 {
                    logger.error(
                        "webhook attempt not recorded; the event goes again after its lease",
                        metadata: metadata.merging(["recording": "\(error)"]) { $1 })
                } else {
                    try? await Task.sleep(for: .milliseconds(200 * attempt))
                }
            }
        }
    }
}

extension Duration {
    fileprivate var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
