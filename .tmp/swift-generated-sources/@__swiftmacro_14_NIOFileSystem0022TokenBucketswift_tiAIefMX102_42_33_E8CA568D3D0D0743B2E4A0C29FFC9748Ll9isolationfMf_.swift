nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/_NIOFileSystem/Internal/Concurrency Primitives/TokenBucket.swift:103:43-103:53
