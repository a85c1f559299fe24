nil                                                                                                                             

// original-source-range: /work/wt-12/Sources/BoxOffice/HTTP/QueueNotifier.swift:33:43-33:53
