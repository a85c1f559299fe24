{
    get {
        $current.get()
    }
}

// original-source-range: /work/wt-int/.build/checkouts/swift-distributed-tracing/Sources/Instrumentation/InstrumentationContext.swift:257:66-257:66
