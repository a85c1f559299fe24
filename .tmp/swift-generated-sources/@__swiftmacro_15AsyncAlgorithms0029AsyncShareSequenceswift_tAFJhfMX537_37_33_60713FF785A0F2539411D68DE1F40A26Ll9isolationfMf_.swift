nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-async-algorithms/Sources/AsyncAlgorithms/AsyncShareSequence.swift:538:38-538:48
