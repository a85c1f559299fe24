nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/NIOEmbedded/AsyncTestingChannel.swift:421:51-421:61
