nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/hummingbird/Sources/HummingbirdCore/Server/Server.swift:112:55-112:65
