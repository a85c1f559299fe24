nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/swift-log/Sources/Logging/Logger.swift:1504:60-1504:70
