nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-distributed-tracing/Sources/Tracing/Tracer.swift:425:61-425:71
