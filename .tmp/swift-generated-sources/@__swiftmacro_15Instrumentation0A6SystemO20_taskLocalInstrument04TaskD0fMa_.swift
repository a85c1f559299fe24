{
    get {
        $_taskLocalInstrument.get()
    }
}

// original-source-range: /work/wt-12/.build/checkouts/swift-distributed-tracing/Sources/Instrumentation/InstrumentationSystem.swift:68:64-68:64
