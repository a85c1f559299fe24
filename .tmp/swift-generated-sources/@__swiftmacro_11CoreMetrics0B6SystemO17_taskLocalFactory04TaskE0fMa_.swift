{
    get {
        $_taskLocalFactory.get()
    }
}

// original-source-range: /work/wt-12/.build/checkouts/swift-metrics/Sources/CoreMetrics/Metrics.swift:928:59-928:59
