nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/hummingbird/Sources/HummingbirdCore/Server/Server.swift:119:73-119:83
