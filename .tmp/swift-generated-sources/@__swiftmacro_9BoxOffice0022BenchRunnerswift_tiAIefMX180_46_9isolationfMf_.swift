nil                                                                                                                             

// original-source-range: /work/wt-int/Sources/BoxOffice/Bench/BenchRunner.swift:181:47-181:57
