import Glibc
import SmallFiles

/// A socket could not be set up (created, bound, listened on). Setup failures are operator problems,
/// so the message names the address and says what usually fixes it.
public struct SocketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What we were doing, e.g. "bind UDP socket".
    public var operation: String
    public var address: SocketAddress?
    public var errno: Int32

    public init(operation: String, address: SocketAddress? = nil, errno: Int32) {
        self.operation = operation
        self.address = address
        self.errno = errno
    }

    public var description: String {
        let target = address.map { " to \($0)" } ?? ""
        var text = "cannot \(operation)\(target): \(describeErrno(errno))"
        if let hint { text += "; \(hint)" }
        return text
    }

    private var hint: String? {
        switch errno {
        case EADDRINUSE: return "another process (or another agent) already uses this port; pick a free port or stop it"
        case EACCES: return "ports below 1024 need privileges; use a higher port"
        case EADDRNOTAVAIL: return "that IP address is not configured on this host; bind to one of its addresses or the wildcard"
        case EAFNOSUPPORT: return "this host has no support for that address family (IPv6 disabled?); use an IPv4 address"
        case EMFILE, ENFILE: return "the process or system is out of file descriptors; raise the limit (ulimit -n)"
        default: return nil
        }
    }
}
