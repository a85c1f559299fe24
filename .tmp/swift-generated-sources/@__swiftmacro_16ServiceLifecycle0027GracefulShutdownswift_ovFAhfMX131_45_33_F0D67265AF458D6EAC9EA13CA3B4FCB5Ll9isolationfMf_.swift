nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-service-lifecycle/Sources/ServiceLifecycle/GracefulShutdown.swift:132:46-132:56
