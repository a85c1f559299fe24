nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/hummingbird/Sources/HummingbirdCore/Server/HTTP/HTTPChannelHandler.swift:35:51-35:61
