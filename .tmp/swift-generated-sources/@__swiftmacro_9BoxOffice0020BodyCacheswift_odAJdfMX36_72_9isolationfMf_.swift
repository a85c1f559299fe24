nil                                                                                                                             

// original-source-range: /work/wt-int/Sources/BoxOffice/HTTP/BodyCache.swift:37:73-37:83
