nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/NIOEmbedded/AsyncTestingEventLoop.swift:265:39-265:49
