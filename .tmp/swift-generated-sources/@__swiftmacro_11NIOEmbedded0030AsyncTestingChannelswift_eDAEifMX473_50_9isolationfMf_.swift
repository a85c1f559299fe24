nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/NIOEmbedded/AsyncTestingChannel.swift:474:51-474:61
