nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-service-lifecycle/Sources/ServiceLifecycle/GracefulShutdown.swift:185:42-185:52
