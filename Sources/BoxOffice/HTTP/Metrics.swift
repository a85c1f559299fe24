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

    /// Retried attempts of SERIALIZABLE payments (one payment may retry more
    /// than once), per concert: counted when the payment ends, under the
    /// concert of its answer, or `unknown` when it ended in an error.
    static func paymentRetries(concert: String) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: "boxoffice_payment_retries_total", dimensions: [("concert", concert)])
    }
    /// Payments that needed at least one retry, and those that ran out of attempts (503).
    static let paymentsRetried = Counter(label: "boxoffice_payments_retried_total")
    static let paymentsFailedRetries = Counter(label: "boxoffice_payments_retries_exhausted_total")
    /// Runs of a job by the scheduler, and those that failed (or could not run), per job.
    static func jobRuns(_ job: String) -> CoreMetrics.Counter { CoreMetrics.Counter(label: "boxoffice_job_runs_total", dimensions: [("job", job)]) }
    static func jobFailures(_ job: String) -> CoreMetrics.Counter { CoreMetrics.Counter(label: "boxoffice_job_failures_total", dimensions: [("job", job)]) }
}
