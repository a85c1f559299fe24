nil                                                                                                                             

// original-source-range: /work/wt-12/Sources/BoxOffice/Bench/PoolBenchmark.swift:124:65-124:75
