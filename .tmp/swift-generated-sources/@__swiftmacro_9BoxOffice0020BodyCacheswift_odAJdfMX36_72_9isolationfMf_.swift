nil                                                                                                                             

// original-source-range: /work/wt-12/Sources/BoxOffice/HTTP/BodyCache.swift:37:73-37:83
