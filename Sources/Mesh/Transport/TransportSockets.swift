import Glibc

/// An agent's UDP socket and TCP listener on the same port number, so that one advertised address
/// serves gossip, push-pull and fallback pings.
struct TransportSockets: Sendable {
    public let udp: UDPSocket
    public let listener: StreamListener
    /// Address and port both sockets are bound to.
    public var localAddress: SocketAddress { udp.localAddress }

    /// Binds both. With port 0, the kernel picks a free UDP port and we take the same TCP port; if
    /// that TCP port happens to be busy we try again with another, up to `attempts` times.
    public static func bind(to address: SocketAddress, attempts: Int = 16) throws(SocketError) -> TransportSockets {
        var lastError = SocketError(operation: "bind UDP and TCP on one port", address: address, errno: EADDRINUSE)
        for _ in 0..<max(1, attempts) {
            let udp = try UDPSocket(bindingTo: address)
            do {
                let listener = try StreamListener(bindingTo: udp.localAddress)
                return TransportSockets(udp: udp, listener: listener)
            } catch {
                udp.close()
                guard address.port == 0, error.errno == EADDRINUSE else { throw error }
                lastError = error
            }
        }
        throw lastError
    }

    public func close() {
        udp.close()
        listener.close()
    }
}
