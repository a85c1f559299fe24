nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/NIOPosix/NIOThreadPool.swift:488:51-488:61
