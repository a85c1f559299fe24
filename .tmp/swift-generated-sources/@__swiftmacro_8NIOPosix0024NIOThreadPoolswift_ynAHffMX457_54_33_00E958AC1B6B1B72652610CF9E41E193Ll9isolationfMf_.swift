nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/NIOPosix/NIOThreadPool.swift:458:55-458:65
