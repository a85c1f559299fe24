nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-nio/Sources/NIOCore/AsyncAwaitSupport.swift:86:50-86:60
