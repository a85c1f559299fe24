public static let $gracefulShutdownManager: TaskLocal<GracefulShutdownManager?> = TaskLocal(wrappedValue: nil)

// original-source-range: /work/wt-int/.build/checkouts/swift-service-lifecycle/Sources/ServiceLifecycle/GracefulShutdown.swift:239:72-239:72
