internal static let $_taskLocalFactory: TaskLocal<MetricsFactory?> = TaskLocal(wrappedValue: nil)

// original-source-range: /work/wt-int/.build/checkouts/swift-metrics/Sources/CoreMetrics/Metrics.swift:928:59-928:59
