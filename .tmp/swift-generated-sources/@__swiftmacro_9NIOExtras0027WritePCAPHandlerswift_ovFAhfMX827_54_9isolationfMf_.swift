nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio-extras/Sources/NIOExtras/WritePCAPHandler.swift:828:55-828:65
