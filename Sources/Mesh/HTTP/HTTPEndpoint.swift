import Glibc
import SmallFiles

/// Where the local API listens and where its clients connect: a TCP address, or a unix domain socket
/// (a file whose mode and group decide who may connect, as Docker's and containerd's sockets do).
///
/// Text form: `127.0.0.1:7947`, `[::1]:7947`, or `unix:/run/licmesh/api.sock` (a bare absolute path
/// is read as a unix socket too).
public enum HTTPEndpoint: Hashable, Sendable, CustomStringConvertible {
    case tcp(SocketAddress)
    case unix(path: String)

    /// Numeric addresses only: this never blocks on DNS.
    public init(parsing text: String) throws(AddressError) {
        if text.hasPrefix("unix:") || text.hasPrefix("/") {
            let path = text.hasPrefix("unix:") ? String(text.dropFirst(5)) : text
            try Self.checkSocketPath(path, as: text)
            self = .unix(path: path)
        } else {
            self = .tcp(try SocketAddress(parsing: text))
        }
    }

    public var description: String {
        switch self {
        case .tcp(let address): return address.description
        case .unix(let path): return "unix:\(path)"
        }
    }

    public var tcpAddress: SocketAddress? {
        if case .tcp(let address) = self { return address }
        return nil
    }

    /// sockaddr_un holds 108 bytes with the terminating NUL.
    static let maximumPathBytes = 107

    static func checkSocketPath(_ path: String, as text: String) throws(AddressError) {
        guard path.hasPrefix("/") else {
            throw AddressError(text: text, problem: "a unix socket needs an absolute path, e.g. unix:/run/licmesh/api.sock")
        }
        guard path.utf8.count <= maximumPathBytes, !path.utf8.contains(0) else {
            throw AddressError(text: String(text.prefix(60)), problem: "a unix socket path must be at most \(maximumPathBytes) bytes, without NUL")
        }
    }
}

/// Who is on the other end of an accepted connection.
enum HTTPPeer: Hashable, Sendable, CustomStringConvertible {
    case tcp(SocketAddress)
    /// A process on this host, through the unix socket, with its user ID when the kernel says.
    case local(uid: UInt32?)

    /// What the per-peer connection bound counts by: the IP (every port of a host together) or the user.
    var limitKey: String {
        switch self {
        case .tcp(let address): return address.ip.description
        case .local(let uid): return "uid:\(uid.map(String.init) ?? "?")"
        }
    }

    public var description: String {
        switch self {
        case .tcp(let address): return address.description
        case .local(let uid): return "local process (uid \(uid.map(String.init) ?? "unknown"))"
        }
    }
}

/// Who may connect to a unix socket: its file mode and, optionally, its group.
public struct UnixSocketAccess: Hashable, Sendable {
    /// Permission bits of the socket file, e.g. 0o660: owner and group may connect, others may not.
    public var mode: UInt32
    /// Group name (or numeric ID) given to the socket file; nil keeps the agent's own group.
    public var group: String?

    public init(mode: UInt32 = 0o660, group: String? = nil) {
        self.mode = mode & 0o777
        self.group = group
    }
}

/// A non-blocking listening socket of the HTTP server, TCP or unix, owned by its event loop.
final class HTTPListener {
    let endpoint: HTTPEndpoint
    private let descriptor: OwnedDescriptor
    /// The socket file we created, removed again on close (only if it is still ours).
    private let socketFile: (path: String, device: UInt64, inode: UInt64)?

    var fileDescriptor: Int32 { descriptor.rawValue }

    init(tcp address: SocketAddress, backlog: Int32 = 1024) throws(SocketError) {
        let (descriptor, bound) = try SocketSetup.listen(on: address, backlog: backlog, operation: "listen for HTTP")
        self.descriptor = descriptor
        endpoint = .tcp(bound)
        socketFile = nil
    }

    /// Creates the socket file at `path` with `access`. A stale file left by a crashed agent (a socket
    /// nobody listens on) is replaced; a live one, or anything that is not a socket, is an error.
    init(unixPath path: String, access: UnixSocketAccess, backlog: Int32 = 1024) throws(HTTPListenError) {
        try Self.removeStaleSocket(at: path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPListenError(path: path, doing: "create a unix socket", errno: errno) }
        descriptor = OwnedDescriptor(fd)
        // Created with no permissions at all, then opened up to `mode`: no moment where others may connect.
        let previousMask = umask(0o777)
        let bound = Self.withUnixAddress(path) { Glibc.bind(fd, $0, $1) }
        let bindErrno = errno
        umask(previousMask)
        guard bound == 0 else {
            descriptor.close()
            throw HTTPListenError(path: path, doing: "bind the unix socket", errno: bindErrno)
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            descriptor.close()
            throw HTTPListenError(path: path, doing: "inspect the new socket file", errno: errno)
        }
        socketFile = (path, UInt64(info.st_dev), UInt64(info.st_ino))
        endpoint = .unix(path: path)
        do {
            if let group = access.group {
                guard let gid = Self.groupID(group) else {
                    throw HTTPListenError(path: path, problem: "the group '\(group)' does not exist; create it (groupadd \(group)) or set another socket group")
                }
                guard chown(path, uid_t.max, gid) == 0 else {
                    throw HTTPListenError(path: path, doing: "give the socket to group '\(group)'", errno: errno)
                }
            }
            guard chmod(path, mode_t(access.mode)) == 0 else {
                throw HTTPListenError(path: path, doing: "set the socket's mode", errno: errno)
            }
            guard listen(fd, backlog) == 0 else { throw HTTPListenError(path: path, doing: "listen on the unix socket", errno: errno) }
        } catch let error as HTTPListenError {
            close()
            throw error
        } catch {
            close()
            throw HTTPListenError(path: path, problem: "\(error)")
        }
    }

    /// Accepts one pending connection: its descriptor (non-blocking) and peer; nil when none is
    /// pending. Throws the errno of resource exhaustion (EMFILE...), which leaves the connection queued.
    func accept() throws(SocketError) -> (OwnedDescriptor, HTTPPeer)? {
        let accepted = try descriptor.withDescriptor { (fd) throws(SocketError) -> (OwnedDescriptor, HTTPPeer)? in
            while true {
                switch SocketSetup.acceptPending(fd) {
                case .failure(let failure): throw SocketError(operation: "accept an HTTP connection", errno: failure.code)
                case .success(nil): return nil
                case .success(let (owned, storage, length)?):
                    guard let client = owned.rawValueIfOpen else { continue }
                    switch endpoint {
                    case .tcp:
                        guard let remote = SocketAddress(storage: storage, length: length) else { continue }
                        SocketSetup.setOptionBestEffort(client, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
                        return (owned, .tcp(remote))
                    case .unix:
                        return (owned, .local(uid: Self.peerUser(client)))
                    }
                }
            }
        }
        return accepted ?? nil
    }

    func close() {
        descriptor.close()
        guard let file = socketFile else { return }
        // Remove the file only if it is still the socket we created: a newer agent may own the path now.
        var info = stat()
        if stat(file.path, &info) == 0, UInt64(info.st_dev) == file.device, UInt64(info.st_ino) == file.inode {
            unlink(file.path)
        }
    }

    // MARK: - Unix socket details

    static func withUnixAddress<Result>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8.prefix(HTTPEndpoint.maximumPathBytes))
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    private static func removeStaleSocket(at path: String) throws(HTTPListenError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw HTTPListenError(path: path, problem: "a file that is not a socket is in the way; move it, or choose another socket path")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return }
        defer { Glibc.close(probe) }
        let connected = withUnixAddress(path) { Glibc.connect(probe, $0, $1) }
        if connected == 0 {
            throw HTTPListenError(path: path, problem: "another process (another agent?) serves this socket; stop it, or choose another socket path")
        }
        // Nobody listens: a socket left by an agent that did not stop cleanly.
        unlink(path)
    }

    private static func groupID(_ name: String) -> gid_t? {
        if let number = UInt32(name) { return number }
        guard let entry = getgrnam(name) else { return nil }
        return entry.pointee.gr_gid
    }

    /// SO_PEERCRED fills a `struct ucred` (pid, uid, gid); Glibc's module hides that struct behind
    /// _GNU_SOURCE, so it is read as the three 32-bit fields it is.
    private static func peerUser(_ fd: Int32) -> UInt32? {
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, length == 12 else { return nil }
        return credentials.uid
    }
}

/// Why the unix socket could not be created, with the path and what usually fixes it.
struct HTTPListenError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var problem: String

    init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    init(path: String, doing operation: String, errno code: Int32) {
        var problem = "cannot \(operation): \(describeErrno(code))"
        switch code {
        case ENOENT: problem += "; create the directory first (systemd: RuntimeDirectory=licmesh)"
        case EACCES, EPERM: problem += "; the agent's user needs write access to the directory (and to the group it gives the socket)"
        case EADDRINUSE: problem += "; another process serves this path"
        default: break
        }
        self.init(path: path, problem: problem)
    }

    public var description: String { "unix socket \(path): \(problem)" }
}
