nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-async-algorithms/Sources/AsyncAlgorithms/MultiProducerSingleConsumerChannel/MultiProducerSingleConsumerAsyncChannel.swift:474:47-474:57
