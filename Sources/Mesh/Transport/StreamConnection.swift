import Glibc

/// A TCP connection carrying length-prefixed frames: a 4-byte big-endian length, then that many opaque
/// bytes. Used for push-pull state sync and the TCP fallback ping.
///
/// Every call blocks its thread until done or until its own deadline, waiting with poll(2) on a
/// non-blocking socket. It is meant for short-lived worker threads, never for the I/O loop. The
/// deadline covers the whole call (a frame's header and body), so a peer trickling bytes cannot hold a
/// worker longer than the timeout.
final class StreamConnection: Sendable, PollableSource {
    /// The default limit on a frame's size, in both directions.
    public static let defaultMaximumFrameSize = 4 * 1024 * 1024
    static let headerSize = 4

    public let remoteAddress: SocketAddress
    private let descriptor: OwnedDescriptor

    init(descriptor: OwnedDescriptor, remoteAddress: SocketAddress) {
        self.descriptor = descriptor
        self.remoteAddress = remoteAddress
    }

    /// Opens a connection, waiting at most `timeout`.
    public static func connect(to address: SocketAddress, timeout: Duration) throws(StreamError) -> StreamConnection {
        StreamConnection(descriptor: try connectedDescriptor(to: address, timeout: timeout), remoteAddress: address)
    }

    /// A connected, non-blocking TCP descriptor, for protocols other than frames (the HTTP client).
    static func connectedDescriptor(to address: SocketAddress, timeout: Duration) throws(StreamError) -> OwnedDescriptor {
        let deadline = Deadline(after: timeout)
        let owned: OwnedDescriptor
        do {
            owned = try SocketSetup.open(family: address.family, type: SOCK_STREAM, address: address, operation: "open TCP connection")
        } catch {
            throw .io(errno: error.errno)
        }
        let connected: Void? = try owned.withDescriptor { (fd) throws(StreamError) -> Void in
            let started = address.withSockaddr { Glibc.connect(fd, $0, $1) }
            if started != 0 {
                let code = errno
                // EINTR: the connection attempt goes on in the background; wait for it like EINPROGRESS.
                guard code == EINPROGRESS || code == EINTR else { throw StreamError(errno: code) }
                try waitUntilReady(fd, events: Int16(POLLOUT), deadline: deadline)
                let failure = SocketSetup.getOption(fd, SOL_SOCKET, SO_ERROR) ?? EIO
                if failure != 0 { throw StreamError(errno: failure) }
            }
            // Frames are request and response: send each one at once rather than wait for Nagle.
            SocketSetup.setOptionBestEffort(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        }
        guard connected != nil else { throw .closed }
        return owned
    }

    /// Writes one frame. Throws `frameTooLarge` (before sending anything) when `bytes` is over `maxSize`.
    public func writeFrame(_ bytes: [UInt8], maxSize: Int = StreamConnection.defaultMaximumFrameSize, timeout: Duration)
        throws(StreamError)
    {
        let limit = min(maxSize, Int(UInt32.max))
        guard bytes.count <= limit else { throw .frameTooLarge(size: bytes.count, max: limit) }
        let deadline = Deadline(after: timeout)
        let length = UInt32(bytes.count)
        var frame = [UInt8]()
        frame.reserveCapacity(Self.headerSize + bytes.count)
        frame.append(contentsOf: [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)])
        frame.append(contentsOf: bytes)
        let done: Void? = try descriptor.withDescriptor { (fd) throws(StreamError) -> Void in
            try writeAll(fd, frame, deadline: deadline)
        }
        guard done != nil else { throw .closed }
    }

    /// Reads one frame. A peer announcing more than `maxSize` bytes gets `frameTooLarge` before we
    /// allocate anything; the connection is then out of step and should be closed.
    public func readFrame(maxSize: Int = StreamConnection.defaultMaximumFrameSize, timeout: Duration) throws(StreamError) -> [UInt8] {
        let deadline = Deadline(after: timeout)
        let frame = try descriptor.withDescriptor { (fd) throws(StreamError) -> [UInt8] in
            var header = [UInt8](repeating: 0, count: Self.headerSize)
            try readExactly(fd, into: &header, deadline: deadline)
            let size = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
            guard size <= maxSize else { throw .frameTooLarge(size: size, max: maxSize) }
            var body = [UInt8](repeating: 0, count: size)
            try readExactly(fd, into: &body, deadline: deadline)
            return body
        }
        guard let frame else { throw .closed }
        return frame
    }

    public var fileDescriptor: Int32? {
        let fd = descriptor.rawValue
        return fd >= 0 ? fd : nil
    }

    public var isOpen: Bool { descriptor.isOpen }

    /// Closes the connection; later calls do nothing. If another thread is inside a read or write,
    /// this waits for it, which its deadline bounds.
    public func close() { descriptor.close() }
}

// MARK: - Deadline-bounded I/O on a non-blocking descriptor

/// Waits until `fd` is ready for `events` or the deadline passes. Errors and hang-ups count as ready:
/// the following read or write reports them.
func waitUntilReady(_ fd: Int32, events: Int16, deadline: Deadline) throws(StreamError) {
    while true {
        guard let timeout = deadline.remainingMilliseconds() else { throw .timedOut }
        var entry = pollfd(fd: fd, events: events, revents: 0)
        let ready = poll(&entry, 1, timeout)
        if ready > 0 { return }
        if ready == 0 { continue }  // re-check the deadline: poll may return a little early
        let code = errno
        if code != EINTR { throw .io(errno: code) }
    }
}

private func writeAll(_ fd: Int32, _ bytes: [UInt8], deadline: Deadline) throws(StreamError) {
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { buffer in
            // MSG_NOSIGNAL: a peer that went away gives EPIPE, not a SIGPIPE that kills the process.
            Glibc.send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
        }
        if written > 0 {
            offset += written
            continue
        }
        let code = written == 0 ? EAGAIN : errno
        switch code {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: try waitUntilReady(fd, events: Int16(POLLOUT), deadline: deadline)
        default: throw StreamError(errno: code)
        }
    }
}

private func readExactly(_ fd: Int32, into buffer: inout [UInt8], deadline: Deadline) throws(StreamError) {
    var offset = 0
    while offset < buffer.count {
        let received = buffer.withUnsafeMutableBytes { raw in
            recv(fd, raw.baseAddress! + offset, raw.count - offset, 0)
        }
        if received > 0 {
            offset += received
            continue
        }
        if received == 0 { throw .closed }
        let code = errno
        switch code {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: try waitUntilReady(fd, events: Int16(POLLIN), deadline: deadline)
        default: throw StreamError(errno: code)
        }
    }
}
