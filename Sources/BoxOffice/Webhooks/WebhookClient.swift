import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 client for webhooks, on SwiftNIO alone: one POST per
/// connection (`Connection: close`), the whole exchange bounded by one
/// timeout, the answer's body read up to `headLimit` bytes. Plain http only.
struct WebhookClient: Sendable {
    struct Answer: Sendable {
        var status: Int
        /// The start of the answer's body, for the attempt's record.
        var head: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let endpoint: WebhookEndpoint
    let group: any EventLoopGroup
    let timeout: TimeAmount
    var headLimit = 200

    func post(body: [UInt8], headers extra: [(String, String)]) async throws -> Answer {
        let deadline = NIODeadline.now() + timeout
        let headLimit = headLimit
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    }
                }
                .connect(host: endpoint.host, port: endpoint.port)
                .get()
        } catch let error as ChannelError where error == .connectTimeout(timeout) {
            throw Failure(description: "timed out connecting")
        } catch {
            throw Failure(description: "cannot connect: \(error)")
        }
        let answer = channel.eventLoop.makePromise(of: Answer.self)
        let expiry = channel.eventLoop.scheduleTask(deadline: deadline) {
            answer.fail(Failure(description: "timed out"))
            channel.close(promise: nil)
        }
        answer.futureResult.whenComplete { _ in
            expiry.cancel()
            channel.close(promise: nil)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: endpoint.hostHeader)
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Connection", value: "close")
        headers.add(name: "User-Agent", value: "boxoffice-webhooks")
        for (name, value) in extra { headers.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: endpoint.target, headers: headers)
        let buffer = channel.allocator.buffer(bytes: body)
        channel.eventLoop.execute {
            do {
                try channel.pipeline.syncOperations.addHandler(AnswerHandler(answer: answer, headLimit: headLimit))
            } catch {
                answer.fail(error)
                return
            }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { answer.fail($0) }
        }
        return try await answer.futureResult.get()
    }
}

/// Completes the promise with the status and the body's first bytes once the
/// answer has ended; fails it when the connection closes first.
private final class AnswerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let answer: EventLoopPromise<WebhookClient.Answer>
    private let headLimit: Int
    private var status = 0
    private var body = [UInt8]()

    init(answer: EventLoopPromise<WebhookClient.Answer>, headLimit: Int) {
        self.answer = answer
        self.headLimit = headLimit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(let part):
            if body.count < headLimit {
                body += part.getBytes(at: part.readerIndex, length: min(part.readableBytes, headLimit - body.count)) ?? []
            }
        case .end:
            answer.succeed(.init(status: status, head: String(decoding: body, as: UTF8.self)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer.fail(WebhookClient.Failure(description: "the receiver closed the connection without an answer"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(WebhookClient.Failure(description: "\(error)"))
        context.close(promise: nil)
    }
}
