nil                                                                                                                             

// original-source-range: /work/wt-int/Sources/BoxOffice/Bench/NonBlockingDriver.swift:57:51-57:61
