nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-async-algorithms/Sources/AsyncAlgorithms/Zip/ZipStorage.swift:316:33-316:43
