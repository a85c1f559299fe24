nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/NIOEmbedded/AsyncTestingEventLoop.swift:374:39-374:49
