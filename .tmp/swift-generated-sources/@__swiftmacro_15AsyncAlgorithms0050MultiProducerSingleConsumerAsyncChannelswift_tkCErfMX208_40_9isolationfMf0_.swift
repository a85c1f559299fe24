nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-async-algorithms/Sources/AsyncAlgorithms/MultiProducerSingleConsumerChannel/MultiProducerSingleConsumerAsyncChannel.swift:209:41-209:51
