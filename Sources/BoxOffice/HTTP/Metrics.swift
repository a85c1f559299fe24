import CoreMetrics
import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// Prometheus metrics for `/metrics`: Hummingbird's request metrics and ours.
/// swift-metrics allows one bootstrap per process, done on first use.
enum Metrics {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    static func bootstrap() { _ = registry }

    static let serializationRetries = Counter(label: "boxoffice_payment_retries_total")
    static let jobRuns = Counter(label: "boxoffice_job_runs_total")
    static let jobFailures = Counter(label: "boxoffice_job_failures_total")
}
