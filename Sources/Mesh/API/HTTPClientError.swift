import SWIM
import SmallFiles

/// Why a request of `HTTPClientConnection` got no usable response. Each case names the server's
/// address; `reason` is written for an operator, not a programmer.
enum HTTPClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No connection could be opened (refused, no route, timed out while connecting).
    case cannotConnect(address: HTTPEndpoint, reason: String)
    /// The connection was open but the response did not arrive in full before the deadline.
    case timedOut(address: HTTPEndpoint, after: Duration)
    /// The server closed or reset the connection before a complete response.
    case closed(address: HTTPEndpoint)
    /// What came back is not an HTTP/1.x response we can read (or is over our limits).
    case malformedResponse(address: HTTPEndpoint, reason: String)
    /// The request itself cannot be sent (a target with spaces or line breaks: a caller's bug).
    case invalidRequest(reason: String)

    public var address: HTTPEndpoint? {
        switch self {
        case .cannotConnect(let address, _), .timedOut(let address, _), .closed(let address), .malformedResponse(let address, _):
            return address
        case .invalidRequest:
            return nil
        }
    }

    public var description: String {
        switch self {
        case .cannotConnect(let address, let reason):
            return "cannot connect to \(address): \(reason)"
        case .timedOut(let address, let after):
            return "\(address) did not send a complete answer within \(formatSeconds(after.seconds))"
        case .closed(let address):
            return "\(address) closed the connection before a complete answer"
        case .malformedResponse(let address, let reason):
            return "\(address) did not answer with HTTP we understand: \(reason)"
        case .invalidRequest(let reason):
            return "invalid request: \(reason)"
        }
    }

    static func connectReason(_ error: StreamError) -> String {
        switch error {
        case .connectionRefused: return "connection refused (nothing listens on that port)"
        case .timedOut: return "no answer to the connection attempt (a firewall, or the wrong host)"
        case .closed: return "the connection was reset while opening"
        case .frameTooLarge: return "\(error)"
        case .io(let code): return describeErrno(code)
        }
    }
}
