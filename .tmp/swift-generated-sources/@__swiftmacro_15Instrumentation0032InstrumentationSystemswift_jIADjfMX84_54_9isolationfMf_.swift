nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-distributed-tracing/Sources/Instrumentation/InstrumentationSystem.swift:85:55-85:65
