nil                                                                                                                             

// original-source-range: /work/wt-int/Sources/BoxOffice/Bench/PoolBenchmark.swift:124:65-124:75
