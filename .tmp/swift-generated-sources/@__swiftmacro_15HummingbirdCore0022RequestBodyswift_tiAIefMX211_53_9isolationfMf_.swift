nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/hummingbird/Sources/HummingbirdCore/Request/RequestBody.swift:212:54-212:64
