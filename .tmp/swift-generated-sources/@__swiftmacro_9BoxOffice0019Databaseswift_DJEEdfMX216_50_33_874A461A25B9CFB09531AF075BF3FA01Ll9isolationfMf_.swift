nil                                                                                                                             

// original-source-range: /work/wt-12/Sources/BoxOffice/Database/Database.swift:217:51-217:61
