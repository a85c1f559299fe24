nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-async-algorithms/Sources/AsyncAlgorithms/CombineLatest/CombineLatestStorage.swift:284:56-284:66
