nil                                                                                                                             

// original-source-range: /work/wt-12/Sources/BoxOffice/Bench/BenchRunner.swift:181:47-181:57
