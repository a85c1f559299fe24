nil                                                                                                                             

// original-source-range: /work/wt-12/Sources/BoxOffice/Scheduler/Scheduler.swift:172:28-172:38
