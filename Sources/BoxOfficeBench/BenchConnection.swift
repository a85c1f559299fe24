import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection of the load generator: one request in
/// flight at a time, as one virtual user's browser would have. Built on
/// NIOPosix and NIOHTTP1 only (no AsyncHTTPClient, so no TLS stack in the
/// build). A connection the server closed is opened again on the next request.
final class BenchConnection: Sendable {
    struct Response: Sendable {
        var status: Int
        var body: ByteBuffer
        /// X-Poll-Interval, in seconds: when a join's or a poll's answer says
        /// to poll next.
        var pollInterval: Int? = nil
    }

    struct Closed: Error, CustomStringConvertible {
        var description: String { "the server closed the connection" }
    }

    let target: BenchTarget
    private let group: any EventLoopGroup
    private let channel: NIOLockedValueBox<(any Channel)?>

    private init(target: BenchTarget, group: any EventLoopGroup, channel: any Channel) {
        self.target = target
        self.group = group
        self.channel = NIOLockedValueBox(channel)
    }

    static func open(_ target: BenchTarget, group: any EventLoopGroup) async throws -> BenchConnection {
        BenchConnection(target: target, group: group, channel: try await connect(target, group: group))
    }

    private static func connect(_ target: BenchTarget, group: any EventLoopGroup) async throws -> any Channel {
        try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(BenchExchangeHandler())
                }
            }
            .connect(host: target.host, port: target.port)
            .get()
    }

    /// Sends one request and waits for the whole answer.
    func send(_ method: HTTPMethod, _ path: String, token: String? = nil, json: String? = nil) async throws -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        headers.add(name: "Connection", value: "keep-alive")
        if let token { headers.add(name: "Authorization", value: "Bearer " + token) }
        var body: ByteBuffer?
        if let json {
            let buffer = ByteBuffer(string: json)
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            body = buffer
        } else if method == .POST || method == .PUT {
            headers.add(name: "Content-Length", value: "0")
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        let channel = try await liveChannel()
        let answer = channel.eventLoop.makePromise(of: Response.self)
        // A write that never reaches the handler (the channel closed just
        // now) and a server that never answers both fail the answer, so no
        // virtual user waits forever. Completing a promise twice is a no-op.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { answer.fail($0) }
        let timeout = channel.eventLoop.scheduleTask(in: Self.answerTimeout) {
            answer.fail(TimedOut())
            channel.close(promise: nil)
        }
        answer.futureResult.whenComplete { _ in timeout.cancel() }
        channel.writeAndFlush(BenchExchange(head: head, body: body, answer: answer), promise: written)
        return try await answer.futureResult.get()
    }

    static let answerTimeout = TimeAmount.seconds(30)

    struct TimedOut: Error, CustomStringConvertible {
        var description: String { "no answer within \(BenchConnection.answerTimeout.nanoseconds / 1_000_000_000) s" }
    }

    private func liveChannel() async throws -> any Channel {
        if let current = channel.withLockedValue({ $0 }), current.isActive { return current }
        let fresh = try await Self.connect(target, group: group)
        channel.withLockedValue { $0 = fresh }
        return fresh
    }

    func close() async {
        let current = channel.withLockedValue { state -> (any Channel)? in
            defer { state = nil }
            return state
        }
        try? await current?.close()
    }
}

/// A request and the promise its answer completes.
struct BenchExchange: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var answer: EventLoopPromise<BenchConnection.Response>
}

/// Writes a `BenchExchange` as request parts and completes its promise when
/// the response's end arrives; fails what is pending when the channel closes.
final class BenchExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = BenchExchange
    typealias OutboundOut = HTTPClientRequestPart

    private var pending = CircularBuffer<EventLoopPromise<BenchConnection.Response>>()
    private var status = 0
    private var body: ByteBuffer?
    private var pollInterval: Int?
    private var keepAlive = true

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        pending.append(exchange.answer)
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let body = exchange.body {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            keepAlive = head.isKeepAlive
            pollInterval = head.headers.first(name: "X-Poll-Interval").flatMap(Int.init)
            body = nil
        case .body(var part):
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            let answer = Response(status: status, body: body ?? ByteBuffer(), pollInterval: pollInterval)
            body = nil
            if let promise = pending.popFirst() { promise.succeed(answer) }
            if !keepAlive { context.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failPending(BenchConnection.Closed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failPending(error)
        context.close(promise: nil)
    }

    private func failPending(_ error: any Error) {
        while let promise = pending.popFirst() { promise.fail(error) }
    }

    private typealias Response = BenchConnection.Response
}
