internal static let $_taskLocalInstrument: TaskLocal<(any Instrument)?> = TaskLocal(wrappedValue: nil)

// original-source-range: /work/wt-int/.build/checkouts/swift-distributed-tracing/Sources/Instrumentation/InstrumentationSystem.swift:68:64-68:64
