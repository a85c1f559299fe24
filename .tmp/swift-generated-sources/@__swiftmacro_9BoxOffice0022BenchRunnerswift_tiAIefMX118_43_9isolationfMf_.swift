nil                                                                                                                             

// original-source-range: /work/wt-int/Sources/BoxOffice/Bench/BenchRunner.swift:119:44-119:54
