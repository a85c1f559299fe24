nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-nio/Sources/_NIOFileSystem/Internal/BufferedStream.swift:419:63-419:73
