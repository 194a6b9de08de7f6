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
                                    logger: AgentTestSupport.logger)
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

    /// Connections beyond the worker limit are closed at once and counted; the agent serves again
    /// once its workers are free.
    @Test func connectionsBeyondTheWorkerLimitAreClosedAndCounted() async throws {
        var config = AgentTestSupport.config(id: 0xB80)
        config.maximumIncomingStreams = 2
        config.streamTimeout = .seconds(1)
        let agent = try AgentTestSupport.start(config)
        agent.agent.join(seeds: [])
        // Two silent clients hold both workers until the stream timeout.
        let silent = try (0..<2).map { _ in try StreamConnection.connect(to: agent.address, timeout: AgentTestSupport.patience) }
        #expect(await AgentTestSupport.eventually { agent.agent.counters.streamsAccepted == 2 })
        let excess = try StreamConnection.connect(to: agent.address, timeout: AgentTestSupport.patience)
        #expect(throws: StreamError.closed) { _ = try excess.readFrame(timeout: AgentTestSupport.patience) }
        #expect(agent.agent.counters.streamWorkersRefused == 1)
        #expect(agent.agent.counters.streamsAccepted == 2)

        // After the timeout the silent clients are dropped and a ping over TCP is answered again.
        for connection in silent {
            #expect(throws: StreamError.closed) { _ = try connection.readFrame(timeout: AgentTestSupport.patience) }
            connection.close()
        }
        let codec = PacketCodec(clusterName: "agent-tests", security: .plain)
        #expect(await AgentTestSupport.eventually {
            guard let stream = try? StreamConnection.connect(to: agent.address, timeout: AgentTestSupport.patience) else { return false }
            defer { stream.close() }
            let ping = Message.ping(Ping(sequence: 5, target: agent.id, source: NodeID(0xFEED)))
            guard (try? stream.writeFrame(codec.seal(ping), timeout: AgentTestSupport.patience)) != nil,
                  let answer = try? stream.readFrame(timeout: AgentTestSupport.patience),
                  case .ack(let ack)? = try? codec.open(answer) else { return false }
            return ack.sequence == 5
        })
        excess.close()
        await agent.agent.stop()
    }
}
