import Glibc
@testable import Mesh
import SWIM
import Testing

extension TransportTests {
    @Suite struct Leaks {
        /// Opens and closes 200 of everything: UDP sockets (v4 and v6), listeners, connected stream
        /// pairs, pollers, combined sockets, half closed explicitly and half only released (deinit).
        /// The process's open descriptor count must come back to where it started.
        @Test func descriptorsComeBackAfterOpeningAndClosingManySockets() throws {
            let before = try #require(OpenFileDescriptors.count(), "no /proc/self/fd on this host")
            let v6 = TransportTestSupport.ipv6LoopbackAvailable
            for round in 0..<200 {
                let explicitly = round % 2 == 0
                let udp = try UDPSocket(bindingTo: .loopbackV4(port: 0))
                let udp6 = v6 ? try UDPSocket(bindingTo: .loopbackV6(port: 0)) : nil
                let (client, server, listener) = try TransportTestSupport.connectedPair()
                let poller = try Poller()
                poller.register(udp, token: 1)
                poller.register(listener, token: 2)
                poller.wake()
                _ = try poller.wait(timeoutMilliseconds: 0)
                let shared = try TransportSockets.bind(to: .loopbackV4(port: 0))
                #expect(udp.send([1], to: shared.localAddress) == .sent)
                if explicitly {
                    // Twice each: the second close must be a no-op, never closing someone else's fd.
                    for _ in 0..<2 {
                        udp.close(); udp6?.close(); client.close(); server.close(); listener.close()
                        poller.close(); shared.close()
                    }
                }
            }
            // Sockets released above are closed in deinit, synchronously. Wait (bounded) only in case
            // tests outside this suite are opening descriptors of their own at the same moment.
            let deadline = MonotonicClock.now() + TransportTestSupport.patience
            var after = OpenFileDescriptors.count() ?? Int.max
            while after > before, MonotonicClock.now() < deadline {
                usleep(10_000)
                after = OpenFileDescriptors.count() ?? Int.max
            }
            #expect(after <= before, "open descriptors: \(before) before, \(after) after")
        }

        @Test func countingDescriptorsSeesASocketOpenAndClose() throws {
            let before = try #require(OpenFileDescriptors.count())
            let socket = try UDPSocket(bindingTo: .loopbackV4(port: 0))
            let during = try #require(OpenFileDescriptors.count())
            socket.close()
            let after = try #require(OpenFileDescriptors.count())
            // Other suites may run meanwhile, so compare our own step rather than absolute counts.
            #expect(during > after || during > before, "count did not move: \(before) \(during) \(after)")
        }
    }
}
