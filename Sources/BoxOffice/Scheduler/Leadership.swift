import NIOConcurrencyHelpers

/// Whether this instance's scheduler holds the leader lock now, for the work
/// that only the leader does besides the jobs (webhook delivery). Set by
/// `Scheduler`, read by `WebhookDeliverer`.
public final class Leadership: Sendable {
    private let leading = NIOLockedValueBox(false)

    public init() {}

    public var isLeader: Bool { leading.withLockedValue { $0 } }

    func set(_ value: Bool) { leading.withLockedValue { $0 = value } }
}
