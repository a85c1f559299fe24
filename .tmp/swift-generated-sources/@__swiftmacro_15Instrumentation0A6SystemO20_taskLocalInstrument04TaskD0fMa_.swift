{
    get {
        $_taskLocalInstrument.get()
    }
}

// original-source-range: /work/wt-int/.build/checkouts/swift-distributed-tracing/Sources/Instrumentation/InstrumentationSystem.swift:68:64-68:64
