nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/_NIOFileSystem/Internal/ParallelDirCopy.swift:131:51-131:61
