import CoreMetrics

extension Metrics {
    /// Every POST of a webhook, whatever its outcome, and the events given up (DEAD).
    static let webhookAttempts = Counter(label: "boxoffice_webhook_attempts_total")
    static let webhookDead = Counter(label: "boxoffice_webhooks_dead_total")
}
