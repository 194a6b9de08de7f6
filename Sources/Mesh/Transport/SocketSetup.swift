import Glibc

/// Creating and configuring sockets, shared by UDP, listeners and connections.
enum SocketSetup {
    /// A non-blocking, close-on-exec socket (close-on-exec so that spawned child processes such as the
    /// `licmesh` binaries in tests do not inherit our ports).
    static func open(family: IPAddress.Family, type: __socket_type, address: SocketAddress?, operation: String)
        throws(SocketError) -> OwnedDescriptor
    {
        let flags = Int32(type.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(family.systemValue, flags, 0)
        guard fd >= 0 else { throw SocketError(operation: operation, address: address, errno: errno) }
        let owned = OwnedDescriptor(fd)
        if family == .ipv6 {
            // IPv6 only, so a v4 socket on the same port number is a separate socket and v4-mapped
            // addresses never show up as senders.
            try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, operation: operation, address: address)
        }
        return owned
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, operation: String, address: SocketAddress?)
        throws(SocketError)
    {
        guard setOptionBestEffort(fd, level, name, value) else {
            throw SocketError(operation: operation + " (setsockopt)", address: address, errno: errno)
        }
    }

    @discardableResult
    static func setOptionBestEffort(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) -> Bool {
        var value = value
        return setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    static func getOption(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : nil
    }

    static func bind(_ fd: Int32, to address: SocketAddress, operation: String) throws(SocketError) -> SocketAddress {
        let result = address.withSockaddr { Glibc.bind(fd, $0, $1) }
        guard result == 0 else { throw SocketError(operation: operation, address: address, errno: errno) }
        guard let local = SocketAddress.local(of: fd) else {
            throw SocketError(operation: operation + " (getsockname)", address: address, errno: errno)
        }
        return local
    }

    /// A non-blocking TCP socket bound to `address` and listening, with the address it got (the real
    /// port for port 0). SO_REUSEADDR lets a restarted agent listen while its previous connections
    /// sit in TIME_WAIT; Linux still refuses a second listener on the same port.
    static func listen(on address: SocketAddress, backlog: Int32, operation: String) throws(SocketError) -> (OwnedDescriptor, SocketAddress) {
        let descriptor = try open(family: address.family, type: SOCK_STREAM, address: address, operation: operation)
        let bound = try descriptor.withDescriptor { (fd) throws(SocketError) -> SocketAddress in
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, operation: operation, address: address)
            let local = try bind(fd, to: address, operation: operation)
            guard Glibc.listen(fd, backlog) == 0 else { throw SocketError(operation: operation, address: address, errno: errno) }
            return local
        }
        guard let bound else { throw SocketError(operation: operation, address: address, errno: EBADF) }
        return (descriptor, bound)
    }

    /// Accepts one pending connection on listening socket `fd` without blocking: the new descriptor
    /// (non-blocking, close-on-exec) and the peer's raw address; nil when none is pending. Connections
    /// that died while queued are skipped. Returns the errno of anything else (resource exhaustion:
    /// EMFILE, ENFILE, ENOMEM), which leaves the connection queued.
    static func acceptPending(_ fd: Int32) -> Result<(OwnedDescriptor, sockaddr_storage, socklen_t)?, SystemErrno> {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &length) }
            }
            if client >= 0 {
                let owned = OwnedDescriptor(client)
                guard makeNonBlocking(client) else { continue }
                return .success((owned, storage, length))
            }
            let code = errno
            switch code {
            case EAGAIN, EWOULDBLOCK: return .success(nil)
            // The connection failed between the handshake and accept, or a signal arrived: next.
            case EINTR, ECONNABORTED, EPROTO, EPERM: continue
            default: return .failure(SystemErrno(code: code))
            }
        }
    }

    /// Marks an accepted descriptor non-blocking and close-on-exec (Glibc's Swift module has no accept4).
    static func makeNonBlocking(_ fd: Int32) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { return false }
        return fcntl(fd, F_SETFD, FD_CLOEXEC) == 0
    }
}

/// An errno value as an Error, for `Result`.
struct SystemErrno: Error {
    var code: Int32
}
