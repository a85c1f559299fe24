nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-service-lifecycle/Sources/UnixSignals/UnixSignalsSequence.swift:151:47-151:57
