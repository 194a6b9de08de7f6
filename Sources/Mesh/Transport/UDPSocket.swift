import Glibc
import Synchronization
import SmallFiles

/// A bound, non-blocking UDP socket for gossip.
///
/// Nothing it does at runtime throws: a send reports a `SendResult` the caller counts, a receive returns
/// nil when nothing is pending. One bad datagram, an ICMP error from a dead peer or a full buffer never
/// ends the receive loop (the failure mode DESIGN.md records for swift-cluster-membership).
final class UDPSocket: Sendable, PollableSource {
    /// Larger than any UDP payload (65,507 bytes over IPv4, 65,527 over IPv6): a datagram over the
    /// packet budget is still read whole, so it can be counted by size and dropped.
    public static let maximumDatagramSize = 65_535
    /// Kernel buffers we ask for; the kernel caps them at net.core.rmem_max / wmem_max.
    public static let requestedBufferSize: Int32 = 4 * 1024 * 1024

    public let localAddress: SocketAddress
    public var port: UInt16 { localAddress.port }
    private let descriptor: OwnedDescriptor
    private let ignoredErrors = Atomic<Int>(0)

    /// Binds to `address` (port 0 picks a free port; `localAddress` tells which).
    ///
    /// - Parameter reuseAddress: SO_REUSEADDR. Off by default on purpose: on Linux it lets two UDP
    ///   sockets bind the same port, so a second agent started by mistake on a busy port would share
    ///   (and steal) the first one's traffic instead of failing. UDP has no TIME_WAIT, so a restarted
    ///   agent does not need it to rebind its port.
    public init(bindingTo address: SocketAddress, reuseAddress: Bool = false) throws(SocketError) {
        let operation = "bind UDP socket"
        descriptor = try SocketSetup.open(family: address.family, type: SOCK_DGRAM, address: address, operation: operation)
        let bound = try descriptor.withDescriptor { (fd) throws(SocketError) -> SocketAddress in
            if reuseAddress {
                try SocketSetup.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, operation: operation, address: address)
            }
            // Best effort: a burst of gossip should queue in the kernel rather than be dropped.
            SocketSetup.setOptionBestEffort(fd, SOL_SOCKET, SO_RCVBUF, UDPSocket.requestedBufferSize)
            SocketSetup.setOptionBestEffort(fd, SOL_SOCKET, SO_SNDBUF, UDPSocket.requestedBufferSize)
            return try SocketSetup.bind(fd, to: address, operation: operation)
        }
        guard let bound else { throw SocketError(operation: operation, address: address, errno: EBADF) }
        localAddress = bound
    }

    /// Sends one datagram. Never blocks and never throws.
    public func send(_ bytes: [UInt8], to destination: SocketAddress) -> SendResult {
        guard destination.family == localAddress.family else { return .wrongFamily }
        let result = descriptor.withDescriptor { fd -> SendResult in
            var outcome = sendOnce(fd, bytes, destination)
            if outcome == .refused {
                // On an unconnected socket an ECONNREFUSED belongs to some earlier datagram (an ICMP
                // "port unreachable" from a dead peer), and reporting it consumed it. Retry once so that
                // a dead peer cannot cost a live one its packet.
                ignoredErrors.add(1, ordering: .relaxed)
                outcome = sendOnce(fd, bytes, destination)
            }
            return outcome
        }
        return result ?? .closed
    }

    private func sendOnce(_ fd: Int32, _ bytes: [UInt8], _ destination: SocketAddress) -> SendResult {
        while true {
            let sent = bytes.withUnsafeBytes { buffer in
                destination.withSockaddr { address, length in
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), address, length)
                }
            }
            if sent >= 0 { return .sent }
            let code = errno
            if code == EINTR { continue }
            return SendResult(errno: code)
        }
    }

    /// Reads the next pending datagram into `buffer` (make it `maximumDatagramSize` bytes), or returns
    /// nil when none is pending. Call it until nil after each readiness report.
    ///
    /// Errors the kernel reports on receive (ICMP errors from earlier sends, a datagram whose sender
    /// cannot be decoded) are skipped and counted in `ignoredErrorCount`, so the caller's loop goes on.
    public func receive(into buffer: inout [UInt8]) -> ReceivedDatagram? {
        let result = descriptor.withDescriptor { fd -> ReceivedDatagram? in
            // Bounded, so a socket stuck in an error state cannot spin the I/O thread.
            for _ in 0..<64 {
                var storage = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                // MSG_TRUNC makes recvfrom return the datagram's real size even when it did not fit.
                let received = buffer.withUnsafeMutableBytes { bytes in
                    withUnsafeMutablePointer(to: &storage) { pointer in
                        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            recvfrom(fd, bytes.baseAddress, bytes.count, Int32(MSG_TRUNC), $0, &length)
                        }
                    }
                }
                if received >= 0 {
                    guard let sender = SocketAddress(storage: storage, length: length) else {
                        ignoredErrors.add(1, ordering: .relaxed)
                        continue
                    }
                    return ReceivedDatagram(size: received, sender: sender, isTruncated: received > buffer.count)
                }
                let code = errno
                if code == EAGAIN || code == EWOULDBLOCK { return nil }
                if code != EINTR { ignoredErrors.add(1, ordering: .relaxed) }
            }
            return nil
        }
        return result ?? nil
    }

    /// A buffer of `maximumDatagramSize` bytes, to reuse for every receive.
    public static func makeReceiveBuffer() -> [UInt8] {
        [UInt8](repeating: 0, count: maximumDatagramSize)
    }

    /// Kernel errors skipped by `send` (stale ICMP errors) and `receive` since the socket opened.
    public var ignoredErrorCount: Int { ignoredErrors.load(ordering: .relaxed) }

    /// The kernel's actual receive buffer size (Linux reports double the usable amount).
    public var receiveBufferSize: Int {
        descriptor.withDescriptor { SocketSetup.getOption($0, SOL_SOCKET, SO_RCVBUF) }.flatMap { $0 }.map(Int.init) ?? 0
    }

    public var fileDescriptor: Int32? {
        let fd = descriptor.rawValue
        return fd >= 0 ? fd : nil
    }

    public var isOpen: Bool { descriptor.isOpen }

    /// Closes the socket; later calls do nothing. Close it on the thread that polls it.
    public func close() { descriptor.close() }
}

/// One datagram read by `UDPSocket.receive(into:)`.
struct ReceivedDatagram: Sendable, Hashable {
    /// The datagram's real size in bytes, even when larger than the buffer.
    public var size: Int
    public var sender: SocketAddress
    /// The datagram did not fit the buffer; only its first `buffer.count` bytes were kept.
    public var isTruncated: Bool
}

/// What happened to one datagram. Failures are for counting: UDP gives no delivery guarantee anyway,
/// and SWIM treats a lost packet like a slow one.
enum SendResult: Sendable, Hashable, CustomStringConvertible {
    case sent
    /// The kernel's send buffer is full (EAGAIN, ENOBUFS); the datagram was dropped.
    case wouldBlock
    /// ECONNREFUSED persisted after one retry.
    case refused
    /// No route to the host or network (EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN, EADDRNOTAVAIL).
    case unreachable
    /// Larger than the path allows (EMSGSIZE).
    case tooLarge
    /// An IPv4 destination on an IPv6 socket or the reverse.
    case wrongFamily
    /// The socket is closed.
    case closed
    case failed(errno: Int32)

    init(errno code: Int32) {
        switch code {
        case EAGAIN, EWOULDBLOCK, ENOBUFS: self = .wouldBlock
        case ECONNREFUSED: self = .refused
        case EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN, EADDRNOTAVAIL: self = .unreachable
        case EMSGSIZE: self = .tooLarge
        case EAFNOSUPPORT: self = .wrongFamily
        default: self = .failed(errno: code)
        }
    }

    public var description: String {
        switch self {
        case .sent: return "sent"
        case .wouldBlock: return "dropped: send buffer full"
        case .refused: return "refused"
        case .unreachable: return "unreachable"
        case .tooLarge: return "too large for the path"
        case .wrongFamily: return "address family does not match the socket"
        case .closed: return "socket closed"
        case .failed(let code): return "failed: \(describeErrno(code))"
        }
    }
}
