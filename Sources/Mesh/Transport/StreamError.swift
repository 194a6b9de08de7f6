import Glibc
import SmallFiles

/// Why a stream operation (connect, frame read or write, accept) failed. Typed so that callers can
/// count kinds separately; descriptions say what it means for an operator.
enum StreamError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The operation's deadline passed (slow or silent peer, or a dropped SYN).
    case timedOut
    /// The peer closed the connection (or reset it), possibly in the middle of a frame.
    case closed
    /// A frame's length is over the limit: ours on write, or announced by the peer on read.
    case frameTooLarge(size: Int, max: Int)
    /// Nothing listens on the peer's TCP port.
    case connectionRefused
    /// Any other system error.
    case io(errno: Int32)

    public var description: String {
        switch self {
        case .timedOut:
            return "timed out: the peer did not answer before the deadline"
        case .closed:
            return "the peer closed the connection"
        case .frameTooLarge(let size, let max):
            return "frame of \(size) bytes is over the limit of \(max) bytes; if the cluster state is really this large, raise the stream frame limit on every node"
        case .connectionRefused:
            return "connection refused: nothing listens on the peer's TCP port (is its agent running, and does it listen for TCP on its gossip port?)"
        case .io(let code):
            return "stream I/O error: \(describeErrno(code))"
        }
    }

    init(errno code: Int32) {
        switch code {
        case ECONNREFUSED: self = .connectionRefused
        case ETIMEDOUT: self = .timedOut
        case ECONNRESET, EPIPE, ENOTCONN, ESHUTDOWN: self = .closed
        default: self = .io(errno: code)
        }
    }
}
