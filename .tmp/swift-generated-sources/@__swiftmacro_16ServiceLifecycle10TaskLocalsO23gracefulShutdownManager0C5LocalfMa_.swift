{
    get {
        $gracefulShutdownManager.get()
    }
}

// original-source-range: /work/wt-int/.build/checkouts/swift-service-lifecycle/Sources/ServiceLifecycle/GracefulShutdown.swift:239:72-239:72
