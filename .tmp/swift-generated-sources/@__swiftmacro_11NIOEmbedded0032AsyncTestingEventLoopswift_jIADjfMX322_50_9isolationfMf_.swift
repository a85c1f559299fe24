nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/NIOEmbedded/AsyncTestingEventLoop.swift:323:51-323:61
