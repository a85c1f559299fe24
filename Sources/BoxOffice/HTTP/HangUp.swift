import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The request context of every route: Hummingbird's basic one, plus the
/// client connection the request came on, so that a handler can stop when
/// the client hangs up.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection's watch, installed by `App.server`'s `HangUpHandler`;
    /// nil on a server built without it.
    let client: ClientConnection?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        client = ClientConnection.of(source.channel)
    }
}

/// One client's HTTP connection, as far as hanging up goes: whether the
/// client has gone, and what to do if it goes while a request is served.
///
/// Gone means the connection closed, or the client closed its sending side
/// (a TCP FIN: the server allows half-closure, so only the end of input is
/// seen, and a client that closed its socket cannot be told from one that
/// only shut down writing without writing to it). HTTP/1.1 clients do not
/// half-close while they wait for an answer, so, as Go's net/http does, the
/// end of input counts as the client gone.
final class ClientConnection: Sendable {
    private struct State {
        var gone = false
        var onHangUp: (@Sendable () -> Void)?
    }

    private let state = NIOLockedValueBox(State())

    var isGone: Bool { state.withLockedValue { $0.gone } }

    /// Called on the event loop when the connection closes or its input ends.
    func hangUp() {
        let action = state.withLockedValue { state -> (@Sendable () -> Void)? in
            state.gone = true
            defer { state.onHangUp = nil }
            return state.onHangUp
        }
        action?()
    }

    /// Runs `body` in a task of its own, cancelled when the client hangs up
    /// meanwhile (or has already): a database call it waits on then cancels
    /// its statement on the server (`Database.withConnection`). The caller's
    /// own cancellation reaches `body` too. Only one request of a connection
    /// is served at a time, so one handler slot is enough.
    func cancellingOnHangUp<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task(operation: body)
        let armed = state.withLockedValue { state -> Bool in
            if state.gone { return false }
            state.onHangUp = { task.cancel() }
            return true
        }
        if !armed { task.cancel() }
        defer { state.withLockedValue { $0.onHangUp = nil } }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    // The watch of each open connection, by its channel: a request context
    // is made from the channel alone (`ApplicationRequestContextSource`).
    private static let open = NIOLockedValueBox<[ObjectIdentifier: ClientConnection]>([:])

    static func of(_ channel: any Channel) -> ClientConnection? {
        open.withLockedValue { $0[ObjectIdentifier(channel)] }
    }

    fileprivate static func register(_ client: ClientConnection, for channel: any Channel) {
        open.withLockedValue { $0[ObjectIdentifier(channel)] = client }
    }

    fileprivate static func unregister(_ channel: any Channel) {
        open.withLockedValue { $0[ObjectIdentifier(channel)] = nil }
    }
}

/// In each HTTP connection's pipeline (`App.server`): tells the connection's
/// `ClientConnection` when the client hangs up. Hummingbird's own
/// cancel-on-close (`RequestBody.consumeWithCancellationOnInboundClose`)
/// reads the next request's head to see the close, so it ends the connection
/// after every response; this only watches, and keep-alive is untouched.
final class HangUpHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let client = ClientConnection()

    func handlerAdded(context: ChannelHandlerContext) {
        ClientConnection.register(client, for: context.channel)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        ClientConnection.unregister(context.channel)
        client.hangUp()
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.hangUp()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { client.hangUp() }
        context.fireUserInboundEventTriggered(event)
    }
}
