nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-distributed-tracing/Sources/Tracing/TracerProtocol+Legacy.swift:442:71-442:81
