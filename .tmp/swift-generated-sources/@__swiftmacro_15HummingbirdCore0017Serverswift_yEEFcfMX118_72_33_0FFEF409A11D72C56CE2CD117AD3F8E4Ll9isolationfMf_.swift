nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/hummingbird/Sources/HummingbirdCore/Server/Server.swift:119:73-119:83
