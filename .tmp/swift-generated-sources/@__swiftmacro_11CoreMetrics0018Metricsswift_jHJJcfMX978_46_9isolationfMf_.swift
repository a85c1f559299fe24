nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-metrics/Sources/CoreMetrics/Metrics.swift:979:47-979:57
