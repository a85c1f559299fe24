nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-distributed-tracing/Sources/Instrumentation/InstrumentationContext.swift:278:60-278:70
