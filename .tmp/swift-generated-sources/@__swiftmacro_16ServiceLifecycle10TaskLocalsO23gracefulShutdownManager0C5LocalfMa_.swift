{
    get {
        $gracefulShutdownManager.get()
    }
}

// original-source-range: /work/wt-12/.build/checkouts/swift-service-lifecycle/Sources/ServiceLifecycle/GracefulShutdown.swift:239:72-239:72
