nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-service-lifecycle/Sources/ServiceLifecycle/GracefulShutdown.swift:131:50-131:60
