nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-nio/Sources/NIOEmbedded/AsyncTestingChannel.swift:474:51-474:61
