nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-nio/Sources/NIOCore/AsyncSequences/NIOAsyncWriter.swift:653:58-653:68
