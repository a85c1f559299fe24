nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-nio/Sources/NIOEmbedded/AsyncTestingEventLoop.swift:265:39-265:49
