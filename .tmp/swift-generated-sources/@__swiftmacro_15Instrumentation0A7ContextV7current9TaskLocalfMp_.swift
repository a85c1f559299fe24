public static let $current: TaskLocal<InstrumentationContext?> = TaskLocal(wrappedValue: nil)

// original-source-range: /work/wt-12/.build/checkouts/swift-distributed-tracing/Sources/Instrumentation/InstrumentationContext.swift:257:66-257:66
