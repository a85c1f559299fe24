nil                                                                                                                             

// original-source-range: /work/wt-12/.build/checkouts/hummingbird/Sources/Hummingbird/Middleware/TracingMiddleware.swift:121:71-121:81
