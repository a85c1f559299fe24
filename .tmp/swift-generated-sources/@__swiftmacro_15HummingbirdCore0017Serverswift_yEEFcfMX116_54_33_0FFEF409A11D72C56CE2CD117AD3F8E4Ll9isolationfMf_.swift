nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/hummingbird/Sources/HummingbirdCore/Server/Server.swift:117:55-117:65
