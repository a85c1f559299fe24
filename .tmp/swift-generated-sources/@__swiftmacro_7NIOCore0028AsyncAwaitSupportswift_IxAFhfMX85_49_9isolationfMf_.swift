nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/NIOCore/AsyncAwaitSupport.swift:86:50-86:60
