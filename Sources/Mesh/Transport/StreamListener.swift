import Glibc

/// A non-blocking TCP listener for push-pull and fallback pings. It can share the UDP socket's port
/// number (TCP and UDP ports are separate), which is what peers expect: one address for both.
final class StreamListener: Sendable, PollableSource {
    public let localAddress: SocketAddress
    public var port: UInt16 { localAddress.port }
    private let descriptor: OwnedDescriptor

    /// Binds and listens (port 0 picks a free port). SO_REUSEADDR is set so that a restarted agent can
    /// listen again while its previous connections sit in TIME_WAIT; Linux still refuses a second
    /// listener on the same port.
    public init(bindingTo address: SocketAddress, backlog: Int32 = 128) throws(SocketError) {
        (descriptor, localAddress) = try SocketSetup.listen(on: address, backlog: backlog, operation: "listen for TCP")
    }

    /// Accepts one pending connection without blocking; nil when none is pending.
    ///
    /// Connections that died while queued are skipped. Throws only for resource exhaustion (EMFILE,
    /// ENFILE, ENOMEM...): the pending connection stays queued, so the caller should count it and back
    /// off rather than poll again at once.
    public func accept() throws(StreamError) -> StreamConnection? {
        let accepted = try descriptor.withDescriptor { (fd) throws(StreamError) -> StreamConnection? in
            while true {
                switch SocketSetup.acceptPending(fd) {
                case .failure(let failure): throw .io(errno: failure.code)
                case .success(nil): return nil
                case .success(let (owned, storage, length)?):
                    guard let remote = SocketAddress(storage: storage, length: length), let client = owned.rawValueIfOpen else { continue }
                    SocketSetup.setOptionBestEffort(client, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
                    return StreamConnection(descriptor: owned, remoteAddress: remote)
                }
            }
        }
        return accepted ?? nil
    }

    /// Waits up to `timeout` for a connection. For tests and simple tools; the I/O loop uses a Poller.
    public func accept(timeout: Duration) throws(StreamError) -> StreamConnection {
        let deadline = Deadline(after: timeout)
        while true {
            if let connection = try accept() { return connection }
            guard let fd = fileDescriptor else { throw .closed }
            try waitUntilReady(fd, events: Int16(POLLIN), deadline: deadline)
        }
    }

    public var fileDescriptor: Int32? {
        let fd = descriptor.rawValue
        return fd >= 0 ? fd : nil
    }

    public var isOpen: Bool { descriptor.isOpen }

    /// Stops listening; later calls do nothing.
    public func close() { descriptor.close() }
}
