import Glibc
@testable import Mesh
import SWIM
import Testing

/// Every transport test runs inside this suite, one at a time: the descriptor-leak test counts the
/// process's open descriptors, which the other transport tests would disturb if they ran alongside.
@Suite(.serialized) struct TransportTests {}

/// Shared helpers for the transport tests.
enum TransportTestSupport {
    /// Generous: only reached when something is broken. Tests never assert how long anything took.
    static let patience: Duration = .seconds(10)

    static let ipv6LoopbackAvailable: Bool = (try? UDPSocket(bindingTo: .loopbackV6(port: 0))) != nil

    /// Waits (bounded) for the next datagram on `socket`, polling for readability in between.
    static func receiveOne(_ socket: UDPSocket, into buffer: inout [UInt8]) throws -> ReceivedDatagram? {
        let poller = try Poller()
        defer { poller.close() }
        poller.register(socket, token: 1)
        let deadline = MonotonicClock.now() + patience
        while MonotonicClock.now() < deadline {
            if let datagram = socket.receive(into: &buffer) { return datagram }
            _ = try poller.wait(until: deadline)
        }
        return nil
    }

    /// Sends raw bytes on a connection, bypassing framing, to play a misbehaving peer.
    static func sendRaw(_ bytes: [UInt8], on connection: StreamConnection) -> Bool {
        guard let fd = connection.fileDescriptor else { return false }
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// A connected client/server pair on loopback.
    static func connectedPair(family: IPAddress.Family = .ipv4) throws -> (client: StreamConnection, server: StreamConnection, listener: StreamListener) {
        let listener = try StreamListener(bindingTo: family == .ipv4 ? .loopbackV4(port: 0) : .loopbackV6(port: 0))
        let client = try StreamConnection.connect(to: listener.localAddress, timeout: patience)
        let server = try listener.accept(timeout: patience)
        return (client, server, listener)
    }
}
