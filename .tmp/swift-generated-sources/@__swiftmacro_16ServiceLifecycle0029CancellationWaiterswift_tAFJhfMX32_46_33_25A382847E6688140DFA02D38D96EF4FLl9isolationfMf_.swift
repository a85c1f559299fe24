nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-service-lifecycle/Sources/ServiceLifecycle/CancellationWaiter.swift:33:47-33:57
