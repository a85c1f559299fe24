nil                                                                                                                             

// original-source-range: /work/wt-int/Sources/BoxOffice/Bench/PoolBenchmark.swift:150:52-150:62
