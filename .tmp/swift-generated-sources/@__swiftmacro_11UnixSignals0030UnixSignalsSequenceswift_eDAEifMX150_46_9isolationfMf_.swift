nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-service-lifecycle/Sources/UnixSignals/UnixSignalsSequence.swift:151:47-151:57
