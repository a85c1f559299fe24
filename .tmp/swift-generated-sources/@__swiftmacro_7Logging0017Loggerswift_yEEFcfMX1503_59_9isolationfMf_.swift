nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/swift-log/Sources/Logging/Logger.swift:1504:60-1504:70
