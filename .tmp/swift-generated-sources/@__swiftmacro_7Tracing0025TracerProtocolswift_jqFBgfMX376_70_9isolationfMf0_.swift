nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-distributed-tracing/Sources/Tracing/TracerProtocol.swift:377:71-377:81
