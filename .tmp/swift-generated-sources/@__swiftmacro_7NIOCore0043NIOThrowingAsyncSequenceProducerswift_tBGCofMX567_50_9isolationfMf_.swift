nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/NIOCore/AsyncSequences/NIOThrowingAsyncSequenceProducer.swift:568:51-568:61
