nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-nio/Sources/_NIOFileSystem/Internal/BufferedStream.swift:418:55-418:65
