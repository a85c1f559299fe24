nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-distributed-tracing/Sources/Instrumentation/InstrumentationContext.swift:293:60-293:70
