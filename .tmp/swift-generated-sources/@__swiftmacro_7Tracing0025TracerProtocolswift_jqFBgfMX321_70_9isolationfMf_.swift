nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-distributed-tracing/Sources/Tracing/TracerProtocol.swift:322:71-322:81
