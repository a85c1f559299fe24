nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-nio/Sources/_NIOFileSystem/Internal/Concurrency Primitives/TokenBucket.swift:103:43-103:53
