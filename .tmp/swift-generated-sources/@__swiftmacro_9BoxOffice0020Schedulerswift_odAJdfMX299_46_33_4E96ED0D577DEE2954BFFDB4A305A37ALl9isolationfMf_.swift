nil                                                                                                                             

// original-source-range: /work/wt-12/Sources/BoxOffice/Scheduler/Scheduler.swift:300:47-300:57
