nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-nio/Sources/_NIOFileSystem/Internal/BufferedStream.swift:783:59-783:69
