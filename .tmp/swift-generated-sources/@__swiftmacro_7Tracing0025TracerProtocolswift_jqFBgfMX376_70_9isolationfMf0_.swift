nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-distributed-tracing/Sources/Tracing/TracerProtocol.swift:377:71-377:81
