import Glibc
@testable import Mesh
import SWIM
import Testing

extension TransportTests {
    @Suite struct UDP {
        typealias Support = TransportTestSupport

        func roundTrip(_ family: IPAddress.Family) throws {
            let local: SocketAddress = family == .ipv4 ? .loopbackV4(port: 0) : .loopbackV6(port: 0)
            let a = try UDPSocket(bindingTo: local)
            let b = try UDPSocket(bindingTo: local)
            #expect(a.port != 0 && b.port != 0 && a.port != b.port)
            #expect(a.localAddress.family == family)

            let payload: [UInt8] = Array("ping from a".utf8)
            #expect(a.send(payload, to: b.localAddress) == .sent)
            var buffer = UDPSocket.makeReceiveBuffer()
            let datagram = try #require(try Support.receiveOne(b, into: &buffer))
            #expect(datagram.sender == a.localAddress)
            #expect(datagram.size == payload.count && !datagram.isTruncated)
            #expect(Array(buffer[..<datagram.size]) == payload)

            // And back, to the address the datagram came from.
            #expect(b.send([7, 8, 9], to: datagram.sender) == .sent)
            let reply = try #require(try Support.receiveOne(a, into: &buffer))
            #expect(Array(buffer[..<reply.size]) == [7, 8, 9] && reply.sender == b.localAddress)
        }

        @Test func roundTripOnIPv4Loopback() throws { try roundTrip(.ipv4) }

        @Test(.enabled(if: TransportTestSupport.ipv6LoopbackAvailable, "skipped: cannot bind a UDP socket to [::1] on this host (IPv6 disabled?)"))
        func roundTripOnIPv6Loopback() throws { try roundTrip(.ipv6) }

        @Test func oversizeDatagramIsReadWholeAndReportedWithItsSize() throws {
            let a = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            let b = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            // Far over the 1,400-byte packet budget, still a legal UDP datagram.
            let payload = (0..<60_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            #expect(a.send(payload, to: b.localAddress) == .sent)
            var buffer = UDPSocket.makeReceiveBuffer()
            let datagram = try #require(try Support.receiveOne(b, into: &buffer))
            #expect(datagram.size == 60_000 && !datagram.isTruncated)
            #expect(Array(buffer[..<datagram.size]) == payload)

            // The loop goes on: the next, normal datagram arrives as usual.
            #expect(a.send([1], to: b.localAddress) == .sent)
            #expect(try Support.receiveOne(b, into: &buffer)?.size == 1)
        }

        @Test func datagramLargerThanTheBufferIsReportedTruncatedWithItsRealSize() throws {
            let a = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            let b = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            #expect(a.send([UInt8](repeating: 0xAB, count: 3_000), to: b.localAddress) == .sent)
            var small = [UInt8](repeating: 0, count: 1_000)
            let datagram = try #require(try Support.receiveOne(b, into: &small))
            #expect(datagram.size == 3_000 && datagram.isTruncated)
            #expect(small.allSatisfy { $0 == 0xAB })
        }

        @Test func drainsManyDatagramsUntilNil() throws {
            let sender = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            let receiver = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            let count = 500
            for index in 0..<count {
                #expect(sender.send([UInt8(index >> 8), UInt8(index & 0xFF)] + [UInt8](repeating: 0, count: 200), to: receiver.localAddress) == .sent)
            }
            let poller = try Poller()
            poller.register(receiver, token: 7)
            var seen = Set<Int>()
            var buffer = UDPSocket.makeReceiveBuffer()
            let deadline = MonotonicClock.now() + Support.patience
            while seen.count < count, MonotonicClock.now() < deadline {
                let events = try poller.wait(until: deadline)
                guard events.isReady(7) else { continue }
                // Drain until nil: a would-block is an ordinary "nothing more", never an error.
                while let datagram = receiver.receive(into: &buffer) {
                    #expect(datagram.size == 202 && datagram.sender == sender.localAddress)
                    #expect(seen.insert(Int(buffer[0]) << 8 | Int(buffer[1])).inserted)
                }
            }
            #expect(seen.count == count)
            #expect(receiver.receive(into: &buffer) == nil)
            #expect(receiver.ignoredErrorCount == 0)
        }

        @Test func sendToAClosedPortDoesNotThrowNorDisturbLaterTraffic() throws {
            let closed = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            let deadAddress = closed.localAddress
            closed.close()
            let live = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            let sender = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            var buffer = UDPSocket.makeReceiveBuffer()

            for round in 0..<20 {
                let result = sender.send([1, 2, 3], to: deadAddress)
                #expect(result == .sent || result == .refused, "\(result)")
                // Any ICMP error from the dead port must not cost the live peer its datagram.
                #expect(sender.send([UInt8(round)], to: live.localAddress) == .sent)
                let datagram = try #require(try Support.receiveOne(live, into: &buffer))
                #expect(datagram.size == 1 && buffer[0] == UInt8(round))
            }
            // Receiving on the sender (which may hold ICMP errors) yields nil, not a dead loop.
            #expect(sender.receive(into: &buffer) == nil)
        }

        @Test func sendingAfterCloseReportsClosed() throws {
            let socket = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            socket.close()
            socket.close()
            #expect(!socket.isOpen && socket.fileDescriptor == nil)
            #expect(socket.send([1], to: .loopbackV4(port: 9)) == .closed)
            var buffer = UDPSocket.makeReceiveBuffer()
            #expect(socket.receive(into: &buffer) == nil)
        }

        @Test func sendingToTheOtherFamilyIsReportedNotThrown() throws {
            let socket = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            #expect(socket.send([1], to: .loopbackV6(port: 9)) == .wrongFamily)
        }

        @Test func secondBindToABusyPortFailsWithAClearError() throws {
            let first = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            #expect {
                try UDPSocket(bindingTo: first.localAddress)
            } throws: { error in
                guard let error = error as? SocketError else { return false }
                return error.errno == EADDRINUSE
                    && error.description.contains("cannot bind UDP socket to \(first.localAddress)")
                    && error.description.contains("already uses this port")
            }
        }
    }
}
