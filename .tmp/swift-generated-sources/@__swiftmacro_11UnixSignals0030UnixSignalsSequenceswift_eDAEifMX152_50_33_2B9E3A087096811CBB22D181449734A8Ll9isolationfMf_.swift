nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-service-lifecycle/Sources/UnixSignals/UnixSignalsSequence.swift:153:51-153:61
