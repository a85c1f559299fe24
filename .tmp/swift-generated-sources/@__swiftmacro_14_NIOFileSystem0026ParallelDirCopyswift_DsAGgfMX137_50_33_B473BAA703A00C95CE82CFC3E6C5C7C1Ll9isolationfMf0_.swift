nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-nio/Sources/_NIOFileSystem/Internal/ParallelDirCopy.swift:138:51-138:61
