import Glibc
import SWIM

/// One accepted connection as its event loop sees it: the descriptor, the parser holding what has
/// arrived, and where the connection is in its life. Touched only by the loop's thread.
final class HTTPConnection {
    /// Which timeout a connection waiting for bytes runs under.
    enum Waiting: Equatable {
        /// Between requests: expiry closes silently.
        case idle
        /// A new connection, or part of a head has arrived: expiry answers 408 (or closes silently
        /// when nothing at all was sent).
        case head
        case body
    }

    /// What happens once the response being written is out.
    enum AfterWrite: Equatable {
        case keepOpen
        /// Everything the client sent has been read: close at once (a FIN, not a reset).
        case close
        /// Unread bytes may follow: stop sending and drain them first, see `lingering`.
        case linger
    }

    enum Phase: Equatable {
        case waiting(Waiting)
        /// The handler runs; no reading (back-pressure), the answer arrives through the loop's mailbox.
        case handling
        case writing(then: AfterWrite)
        /// After an error answer: reading and discarding until the client closes or the linger
        /// timeout, so closing does not reset the connection before the client read our answer.
        case lingering
    }

    /// How the answer to the request being handled must be framed.
    struct PendingAnswer {
        var keepAlive: Bool
        var version: HTTPVersion
        var isHead: Bool
    }

    let token: UInt64
    let descriptor: OwnedDescriptor
    let peer: HTTPPeer
    let endpoint: HTTPEndpoint
    var parser: HTTPRequestParser
    var phase = Phase.waiting(.head)
    /// When the current phase times out; `distantFuture` while handling.
    var deadline: Instant
    /// When the connection last began waiting for a request: the oldest is evicted first.
    var waitingSince: Instant
    var served = 0
    var pending: PendingAnswer?
    var outgoing: [UInt8] = []
    var written = 0
    var discarded = 0
    var interest = EventPoll.Interest.readable

    init(token: UInt64, descriptor: OwnedDescriptor, peer: HTTPPeer, endpoint: HTTPEndpoint, limits: HTTPParserLimits, now: Instant, headDeadline: Instant) {
        self.token = token
        self.descriptor = descriptor
        self.peer = peer
        self.endpoint = endpoint
        parser = HTTPRequestParser(limits: limits)
        deadline = headDeadline
        waitingSince = now
    }

    var fd: Int32 { descriptor.rawValue }

    /// Eviction order when a bound is reached: idle connections and new ones that sent nothing first
    /// (they cost a descriptor and do nothing), then partial heads, then slow bodies. Connections
    /// being answered are never evicted (nil).
    var evictionRank: Int? {
        guard case .waiting(let waiting) = phase else { return nil }
        switch waiting {
        case .idle: return 0
        case .head: return parser.hasPartialRequest ? 1 : 0
        case .body: return 2
        }
    }

    enum ReadResult { case bytes(Int), endOfStream, wouldBlock, failed }

    func read(into buffer: inout [UInt8]) -> ReadResult {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 { return .bytes(count) }
            if count == 0 { return .endOfStream }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed
            }
        }
    }

    enum FlushResult { case done, wouldBlock, failed }

    /// Sends what is left of `outgoing` without blocking.
    func flush() -> FlushResult {
        while written < outgoing.count {
            let sent = outgoing.withUnsafeBytes { raw in
                // MSG_NOSIGNAL: a client that went away gives EPIPE, not a SIGPIPE that kills the agent.
                send(fd, raw.baseAddress! + written, raw.count - written, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if sent > 0 {
                written += sent
                continue
            }
            let code = sent == 0 ? EAGAIN : errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed
            }
        }
        outgoing = []
        written = 0
        return .done
    }
}
