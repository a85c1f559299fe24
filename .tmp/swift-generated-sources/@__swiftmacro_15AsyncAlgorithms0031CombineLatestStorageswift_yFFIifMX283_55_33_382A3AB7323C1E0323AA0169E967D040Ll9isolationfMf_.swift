nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-async-algorithms/Sources/AsyncAlgorithms/CombineLatest/CombineLatestStorage.swift:284:56-284:66
