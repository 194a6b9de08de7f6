import Glibc
@testable import Mesh
import SWIM
import Testing

extension TransportTests {
    @Suite struct Streams {
        typealias Support = TransportTestSupport
        let patience = TransportTestSupport.patience

        func frameRoundTrip(_ family: IPAddress.Family) throws {
            let (client, server, _) = try Support.connectedPair(family: family)
            #expect(client.remoteAddress == server.remoteAddress || server.remoteAddress.family == family)

            try client.writeFrame(Array("push".utf8), timeout: patience)
            try client.writeFrame([], timeout: patience)
            #expect(try server.readFrame(maxSize: 1_024, timeout: patience) == Array("push".utf8))
            #expect(try server.readFrame(maxSize: 1_024, timeout: patience) == [])

            // Larger than socket buffers, so both sides go through partial writes and reads.
            let state = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let writer = IOThread(name: "test-writer") {
                try? server.writeFrame(state, timeout: .seconds(10))
            }
            let received = try client.readFrame(maxSize: StreamConnection.defaultMaximumFrameSize, timeout: patience)
            writer.join()
            #expect(received == state)
        }

        @Test func frameRoundTripOnIPv4() throws { try frameRoundTrip(.ipv4) }

        @Test(.enabled(if: TransportTestSupport.ipv6LoopbackAvailable, "skipped: cannot bind to [::1] on this host (IPv6 disabled?)"))
        func frameRoundTripOnIPv6() throws { try frameRoundTrip(.ipv6) }

        @Test func oversizeFrameIsRejectedOnWriteBeforeSendingAnything() throws {
            let (client, server, _) = try Support.connectedPair()
            #expect(throws: StreamError.frameTooLarge(size: 11, max: 10)) {
                try client.writeFrame([UInt8](repeating: 1, count: 11), maxSize: 10, timeout: patience)
            }
            // Nothing went out, so the connection is still in step: the next frame is read intact.
            try client.writeFrame([42], maxSize: 10, timeout: patience)
            #expect(try server.readFrame(maxSize: 10, timeout: patience) == [42])
        }

        @Test func frameAnnouncedOverTheLimitIsRejected() throws {
            let (client, server, _) = try Support.connectedPair()
            try client.writeFrame([UInt8](repeating: 0, count: 1_000), timeout: patience)
            #expect(throws: StreamError.frameTooLarge(size: 1_000, max: 100)) {
                try server.readFrame(maxSize: 100, timeout: patience)
            }
        }

        @Test func hostileFourGigabyteAnnouncementIsRejectedBeforeAllocating() throws {
            let (client, server, _) = try Support.connectedPair()
            #expect(Support.sendRaw([0xFF, 0xFF, 0xFF, 0xFF], on: client))
            #expect(throws: StreamError.frameTooLarge(size: 0xFFFF_FFFF, max: StreamConnection.defaultMaximumFrameSize)) {
                try server.readFrame(timeout: patience)
            }
        }

        @Test func silentPeerMakesReadFrameTimeOut() throws {
            let (client, server, _) = try Support.connectedPair()
            #expect(throws: StreamError.timedOut) {
                try server.readFrame(maxSize: 1_024, timeout: .milliseconds(200))
            }
            // Also keeps the client alive (connected and silent) until the read is over.
            #expect(client.isOpen)
        }

        @Test func peerStallingMidFrameMakesReadFrameTimeOut() throws {
            let (client, server, _) = try Support.connectedPair()
            // Announces 10 bytes and sends 3: the header and body share one deadline.
            #expect(Support.sendRaw([0, 0, 0, 10, 1, 2, 3], on: client))
            #expect(throws: StreamError.timedOut) {
                try server.readFrame(maxSize: 1_024, timeout: .milliseconds(200))
            }
        }

        @Test func peerClosingMidFrameIsReportedAsClosed() throws {
            let (client, server, _) = try Support.connectedPair()
            #expect(Support.sendRaw([0, 0, 0, 10, 1, 2, 3], on: client))
            client.close()
            #expect(throws: StreamError.closed) { try server.readFrame(maxSize: 1_024, timeout: patience) }
        }

        @Test func usingAClosedConnectionReportsClosed() throws {
            let (client, _, _) = try Support.connectedPair()
            client.close()
            #expect(throws: StreamError.closed) { try client.writeFrame([1], timeout: patience) }
            #expect(throws: StreamError.closed) { try client.readFrame(timeout: patience) }
        }

        @Test func connectingToAPortNobodyListensOnIsRefused() throws {
            let listener = try StreamListener(bindingTo: .loopbackV4(port: 0))
            let address = listener.localAddress
            listener.close()
            #expect(throws: StreamError.connectionRefused) {
                try StreamConnection.connect(to: address, timeout: patience)
            }
        }

        @Test func acceptWithoutPendingConnectionReturnsNil() throws {
            let listener = try StreamListener(bindingTo: .loopbackV4(port: 0))
            #expect(try listener.accept() == nil)
            let poller = try Poller()
            poller.register(listener, token: 3)
            let client = try StreamConnection.connect(to: listener.localAddress, timeout: patience)
            let events = try poller.wait(timeoutMilliseconds: 10_000)
            #expect(events.isReady(3))
            let accepted = try #require(try listener.accept())
            try client.writeFrame([9], timeout: patience)
            #expect(try accepted.readFrame(timeout: patience) == [9])
        }

        @Test func udpAndTCPShareOnePortNumber() throws {
            let sockets = try TransportSockets.bind(to: .loopbackV4(port: 0))
            defer { sockets.close() }
            #expect(sockets.udp.port == sockets.listener.port)
            #expect(sockets.localAddress == sockets.listener.localAddress)
            let client = try StreamConnection.connect(to: sockets.localAddress, timeout: patience)
            let server = try sockets.listener.accept(timeout: patience)
            try client.writeFrame([1, 2], timeout: patience)
            #expect(try server.readFrame(timeout: patience) == [1, 2])

            let peer = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            #expect(peer.send([5], to: sockets.localAddress) == .sent)
            var buffer = UDPSocket.makeReceiveBuffer()
            #expect(try Support.receiveOne(sockets.udp, into: &buffer)?.sender == peer.localAddress)
        }

        @Test func streamErrorsExplainThemselves() {
            #expect(StreamError.connectionRefused.description.contains("nothing listens"))
            #expect(StreamError.frameTooLarge(size: 5, max: 4).description.contains("5 bytes is over the limit of 4 bytes"))
            #expect(StreamError.io(errno: EMFILE).description.contains("EMFILE"))
        }
    }
}
