nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-metrics/Sources/CoreMetrics/Metrics.swift:979:47-979:57
