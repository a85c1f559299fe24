nil                                                                                                                             

// original-source-range: /work/wt-int/Sources/BoxOffice/Bench/BenchRunner.swift:150:28-150:38
