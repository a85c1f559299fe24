nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/NIOCore/AsyncAwaitSupport.swift:108:51-108:61
