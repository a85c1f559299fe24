nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-async-algorithms/Sources/AsyncAlgorithms/Zip/ZipStorage.swift:129:34-129:44
