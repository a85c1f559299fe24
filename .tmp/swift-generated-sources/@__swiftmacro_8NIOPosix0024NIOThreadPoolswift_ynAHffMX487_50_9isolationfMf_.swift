nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-nio/Sources/NIOPosix/NIOThreadPool.swift:488:51-488:61
