nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-nio-extras/Sources/NIOExtras/WritePCAPHandler.swift:828:55-828:65
