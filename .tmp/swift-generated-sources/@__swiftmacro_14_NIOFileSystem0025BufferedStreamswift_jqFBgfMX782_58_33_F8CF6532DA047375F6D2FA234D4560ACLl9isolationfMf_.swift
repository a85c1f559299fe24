nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/_NIOFileSystem/Internal/BufferedStream.swift:783:59-783:69
