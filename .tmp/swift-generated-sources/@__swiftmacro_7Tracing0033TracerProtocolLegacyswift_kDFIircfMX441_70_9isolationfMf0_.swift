nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-distributed-tracing/Sources/Tracing/TracerProtocol+Legacy.swift:442:71-442:81
