nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/hummingbird/Sources/HummingbirdCore/Server/Server.swift:117:55-117:65
