nil                                                                                                                             

// original-source-range: /work/wt-12/Sources/BoxOffice/Bench/NonBlockingDriver.swift:57:51-57:61
