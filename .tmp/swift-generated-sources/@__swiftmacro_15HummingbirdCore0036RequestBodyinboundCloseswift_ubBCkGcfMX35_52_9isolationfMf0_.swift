nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/hummingbird/Sources/HummingbirdCore/Request/RequestBody+inboundClose.swift:36:53-36:63
