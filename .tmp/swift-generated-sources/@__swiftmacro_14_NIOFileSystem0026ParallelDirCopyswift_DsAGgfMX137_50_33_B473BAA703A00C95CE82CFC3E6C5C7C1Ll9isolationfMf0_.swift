nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/_NIOFileSystem/Internal/ParallelDirCopy.swift:138:51-138:61
