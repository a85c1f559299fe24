nil                                                                                                                             

// original-source-range: /work/wt-12/Sources/BoxOffice/Database/Database.swift:136:54-136:64
