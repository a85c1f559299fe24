nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-nio/Sources/_NIOFileSystem/Internal/ParallelRemoval.swift:48:47-48:57
