nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-distributed-tracing/Sources/Tracing/TracerProtocol.swift:428:71-428:81
