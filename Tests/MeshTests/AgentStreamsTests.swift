import Glibc
@testable import Mesh
import SWIM
import Testing
import Wire

extension TransportTests.AgentStreams {
    /// Slower than `local` so that a fallback ping (a thread, a TCP connect and a round trip) has the
    /// rest of the probe interval to come back even on a busy test machine.
    static var settings: Settings {
        var settings = Settings.local
        settings.probeInterval = .milliseconds(500)
        settings.probeTimeout = .milliseconds(150)
        return settings
    }

    /// Starts an agent whose inbound UDP is blocked, without root: it advertises 127.0.0.1:P, where a
    /// socket the test holds swallows every datagram (a firewall's DROP), while its TCP listener on
    /// 127.0.0.1:P works; its own UDP socket is bound on 127.0.0.2, so its outgoing probes and the acks
    /// they bring back still flow. Returns the agent and the swallowing socket (close it at the end).
    static func startBehindUDPFirewall(id: UInt64, settings: Settings) throws -> (TestAgent, UDPSocket) {
        let front = try TransportSockets.bind(to: .loopbackV4(port: 0))
        let realUDP = try UDPSocket(bindingTo: SocketAddress(ip: .v4(0x7F00_0002), port: 0))
        var config = AgentTestSupport.config(id: id, settings: settings)
        config.bindAddress = realUDP.localAddress
        config.advertiseAddress = front.localAddress
        let agent = try Agent.start(config, sockets: TransportSockets(udp: realUDP, listener: front.listener),
                                    logger: AgentTestSupport.logger, application: { NoApplication() })
        let recorder = EventRecorder()
        let events = agent.events
        Task { for await event in events { recorder.append(event) } }
        return (TestAgent(agent: agent, recorder: recorder), front.udp)
    }

    @Test func fallbackPingOverTCPKeepsAMemberWhoseUDPIsBlockedFromBeingSuspected() async throws {
        let others = try AgentTestSupport.startCluster(count: 3, firstID: 0xA00, settings: Self.settings)
        let (blocked, sink) = try Self.startBehindUDPFirewall(id: 0xAFF, settings: Self.settings)
        defer { sink.close() }
        blocked.agent.join(seeds: [others[0].address])
        let everyone = others + [blocked]
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(everyone) })
        let probingStarted = MonotonicClock.now()

        // Every other member probes the blocked one in turn; only the fallback can answer them.
        #expect(await AgentTestSupport.eventually {
            others.allSatisfy { $0.agent.counters.streamPingsAnswered >= 2 }
        }, "fallback pings answered: \(others.map { $0.agent.counters.streamPingsAnswered })")
        #expect(sink.isOpen)
        for other in others {
            #expect(other.state(of: blocked.id) == .alive)
            let suspicions = other.recorder.all.filter { event in
                if event.at >= probingStarted, case .suspected(let m, _) = event.kind { m.id == blocked.id } else { false }
            }
            #expect(suspicions.isEmpty, "\(other.id) suspected the member behind the firewall: \(suspicions)")
        }
        // The blocked member answered those pings on its TCP listener.
        #expect(blocked.agent.counters.streams.packetsOut(.ack) >= 6)
        await AgentTestSupport.stopAll(everyone)
    }

    /// The control: the same firewall without the fallback gets the member suspected, so the test
    /// above does measure the fallback.
    @Test func withoutTheFallbackAMemberWhoseUDPIsBlockedIsSuspected() async throws {
        var settings = Self.settings
        settings.streamFallbackPing = false
        let others = try AgentTestSupport.startCluster(count: 3, firstID: 0xB00, settings: settings)
        let (blocked, sink) = try Self.startBehindUDPFirewall(id: 0xBFF, settings: settings)
        defer { sink.close() }
        blocked.agent.join(seeds: [others[0].address])
        #expect(await AgentTestSupport.eventually { others.contains { $0.recorder.suspected(blocked.id) } })
        #expect(others.allSatisfy { $0.agent.counters.streamPingsSent == 0 })
        await AgentTestSupport.stopAll(others + [blocked])
    }
}
