nil                                                                                                                             

// original-source-range: /work/wt-12/Sources/BoxOffice/Bench/BenchRunner.swift:150:28-150:38
