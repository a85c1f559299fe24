nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-distributed-tracing/Sources/Instrumentation/InstrumentationContext.swift:293:60-293:70
