nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-async-algorithms/Sources/AsyncAlgorithms/AsyncShareSequence.swift:538:38-538:48
