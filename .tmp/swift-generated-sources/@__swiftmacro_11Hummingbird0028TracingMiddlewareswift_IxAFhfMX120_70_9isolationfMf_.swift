nil                                                                                                                             

// original-source-range: /work/wt-int/.build/checkouts/hummingbird/Sources/Hummingbird/Middleware/TracingMiddleware.swift:121:71-121:81
