nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-service-lifecycle/Sources/ServiceLifecycle/CancellationWaiter.swift:32:43-32:53
