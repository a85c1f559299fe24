nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-distributed-tracing/Sources/Tracing/Tracer.swift:335:61-335:71
