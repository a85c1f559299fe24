nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-service-lifecycle/Sources/UnixSignals/UnixSignalsSequence.swift:153:51-153:61
