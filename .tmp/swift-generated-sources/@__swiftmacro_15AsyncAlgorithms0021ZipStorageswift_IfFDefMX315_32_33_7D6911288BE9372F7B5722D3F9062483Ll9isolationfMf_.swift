nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-async-algorithms/Sources/AsyncAlgorithms/Zip/ZipStorage.swift:316:33-316:43
