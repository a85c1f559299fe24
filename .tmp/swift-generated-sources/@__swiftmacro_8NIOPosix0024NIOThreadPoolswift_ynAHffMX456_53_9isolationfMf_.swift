nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/NIOPosix/NIOThreadPool.swift:457:54-457:64
