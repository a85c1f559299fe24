nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-distributed-tracing/Sources/Tracing/TracerProtocol+Legacy.swift:697:32-697:42
