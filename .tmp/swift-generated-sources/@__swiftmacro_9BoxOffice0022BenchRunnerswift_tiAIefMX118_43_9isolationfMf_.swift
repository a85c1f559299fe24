nil                                                                                                                             

// original-source-range: /work/wt-12/Sources/BoxOffice/Bench/BenchRunner.swift:119:44-119:54
