nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-service-lifecycle/Sources/ServiceLifecycle/CancellationWaiter.swift:33:47-33:57
