nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-async-algorithms/Sources/AsyncAlgorithms/Zip/ZipStorage.swift:260:56-260:66
