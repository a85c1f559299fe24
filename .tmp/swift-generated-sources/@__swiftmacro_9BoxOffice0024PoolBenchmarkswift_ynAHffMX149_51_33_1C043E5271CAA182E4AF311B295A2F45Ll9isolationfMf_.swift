nil                                                                                                                             

// original-source-range: /work/wt-12/Sources/BoxOffice/Bench/PoolBenchmark.swift:150:52-150:62
