nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-service-lifecycle/Sources/ServiceLifecycle/ServiceGroup.swift:678:52-678:62
