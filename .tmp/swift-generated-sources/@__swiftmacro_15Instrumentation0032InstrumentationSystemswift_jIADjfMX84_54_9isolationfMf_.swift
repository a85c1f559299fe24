nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-distributed-tracing/Sources/Instrumentation/InstrumentationSystem.swift:85:55-85:65
