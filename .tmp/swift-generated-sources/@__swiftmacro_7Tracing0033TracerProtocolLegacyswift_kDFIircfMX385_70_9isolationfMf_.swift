nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-distributed-tracing/Sources/Tracing/TracerProtocol+Legacy.swift:386:71-386:81
