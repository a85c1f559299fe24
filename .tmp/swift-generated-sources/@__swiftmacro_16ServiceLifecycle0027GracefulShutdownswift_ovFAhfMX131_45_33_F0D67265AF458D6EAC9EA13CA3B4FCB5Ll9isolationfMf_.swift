nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-service-lifecycle/Sources/ServiceLifecycle/GracefulShutdown.swift:132:46-132:56
