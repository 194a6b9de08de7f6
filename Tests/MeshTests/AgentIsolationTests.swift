import Crypto
import Glibc
@testable import Mesh
import SWIM
import Testing
import Wire

extension TransportTests.AgentIsolation {
    /// Cluster B binds the same port numbers as cluster A (on 127.0.0.2) and is given A's addresses as
    /// seeds: its push-pulls reach A, which drops them as another cluster's, so the two never merge.
    @Test func clustersWithDifferentNamesOnTheSamePortsNeverMix() async throws {
        let a = try AgentTestSupport.startCluster(count: 3, firstID: 0x500, cluster: "cluster-a")
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(a) })

        // First, before B exists (its retries would move the counter): a datagram from cluster B is
        // dropped and never answered; the valid ping sent after it is the first thing answered.
        var raw = try AgentTestSupport.RawPeer()
        let codecA = PacketCodec(clusterName: "cluster-a", security: .plain)
        let before = a[0].agent.counters.decodeErrors(.wrongCluster)
        try raw.ping(a[0].id, sequence: 1, with: PacketCodec(clusterName: "cluster-b", security: .plain), to: a[0].address)
        try raw.ping(a[0].id, sequence: 2, with: codecA, to: a[0].address)
        let answer = try raw.receive(with: codecA)
        guard case .ack(let ack) = answer else { Issue.record("no ack: \(String(describing: answer))"); return }
        #expect(ack.sequence == 2)
        #expect(a[0].agent.counters.decodeErrors(.wrongCluster) == before + 1)

        var b: [TestAgent] = []
        for (index, peer) in a.enumerated() {
            var config = AgentTestSupport.config(id: 0x600 + UInt64(index), cluster: "cluster-b")
            config.bindAddress = SocketAddress(ip: .v4(0x7F00_0002), port: peer.address.port)
            let agent = try AgentTestSupport.start(config)
            agent.agent.join(seeds: a.map(\.address) + (b.first.map { [$0.address] } ?? []))
            b.append(agent)
        }
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(b) }, "cluster B forms on its own")
        // Every B agent tried its A seeds at least once, over TCP, and A counted the drops.
        #expect(await AgentTestSupport.eventually { a.map { $0.agent.counters.decodeErrors(.wrongCluster) }.reduce(0, +) >= b.count })

        let idsA = Set(a.map(\.id)), idsB = Set(b.map(\.id))
        for agent in a { #expect(Set(agent.agent.members.map(\.id)) == idsA) }
        for agent in b { #expect(Set(agent.agent.members.map(\.id)) == idsB) }
        await AgentTestSupport.stopAll(a + b)
    }

    @Test func encryptedClusterNeverAdmitsAStrangerWithAnotherKey() async throws {
        let keyA = SymmetricKey.random(), keyB = SymmetricKey.random()
        let cluster = try AgentTestSupport.startCluster(count: 3, firstID: 0x700, security: .encrypted(Keyring(primary: keyA)))
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(cluster) })

        // First, before the stranger's retries can move the counter: a datagram sealed with another
        // key is dropped unanswered, and so is a plain one.
        var raw = try AgentTestSupport.RawPeer()
        let codecA = PacketCodec(clusterName: "agent-tests", security: .encrypted(Keyring(primary: keyA)))
        let target = cluster[1]
        let failuresBefore = target.agent.counters.authenticationFailures
        try raw.ping(target.id, sequence: 1, with: PacketCodec(clusterName: "agent-tests", security: .encrypted(Keyring(primary: keyB))), to: target.address)
        try raw.ping(target.id, sequence: 2, with: PacketCodec(clusterName: "agent-tests", security: .plain), to: target.address)
        try raw.ping(target.id, sequence: 3, with: codecA, to: target.address)
        let answer = try raw.receive(with: codecA)
        guard case .ack(let ack) = answer else { Issue.record("no ack: \(String(describing: answer))"); return }
        #expect(ack.sequence == 3)
        #expect(target.agent.counters.authenticationFailures == failuresBefore + 1)
        #expect(target.agent.counters.decodeErrors(.notEncrypted) >= 1)

        let stranger = try AgentTestSupport.start(AgentTestSupport.config(id: 0x7FF, security: .encrypted(Keyring(primary: keyB))))
        stranger.agent.join(seeds: cluster.map(\.address))
        // The stranger's join attempts (one push-pull per seed, retried) fail authentication.
        #expect(await AgentTestSupport.eventually { cluster.map { $0.agent.counters.authenticationFailures }.reduce(0, +) >= 6 })

        let ids = Set(cluster.map(\.id))
        for agent in cluster { #expect(Set(agent.agent.members.map(\.id)) == ids, "the stranger was admitted") }
        #expect(stranger.agent.members.map(\.id) == [stranger.id])
        #expect(!stranger.agent.isJoined)
        await AgentTestSupport.stopAll(cluster + [stranger])
    }

    /// All on key A; then every agent accepts A and B; then every agent sends with B; then A is dropped.
    /// At no step may a member fail to authenticate another, so nobody is suspected.
    @Test func keyRotationCausesNoFalseSuspicion() async throws {
        let keyA = SymmetricKey.random(), keyB = SymmetricKey.random()
        let agents = try AgentTestSupport.startCluster(count: 4, firstID: 0x800, security: .encrypted(Keyring(primary: keyA)))
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(agents) })
        let rotationStarted = MonotonicClock.now()
        let steps = [Keyring(primary: keyA, alsoAccepting: [keyB]), Keyring(primary: keyB, alsoAccepting: [keyA]), Keyring(primary: keyB)]
        for keyring in steps {
            for agent in agents { try await agent.agent.updateKeyring(keyring) }
            // A few probe rounds under each step: every member probes and gossips with the others.
            let acks = agents.map { $0.agent.counters.datagrams.packetsIn(.ack) }
            #expect(await AgentTestSupport.eventually {
                zip(agents, acks).allSatisfy { $0.agent.counters.datagrams.packetsIn(.ack) >= $1 + 4 }
            })
        }
        for agent in agents {
            let suspicions = agent.recorder.all.filter { event in
                if event.at >= rotationStarted, case .suspected = event.kind { true } else { false }
            }
            #expect(suspicions.isEmpty, "\(agent.id) suspected during the rotation: \(suspicions)")
            #expect(agent.agent.counters.authenticationFailures == 0)
        }
        #expect(AgentTestSupport.converged(agents))

        // The rotation really happened: key A is refused now, key B answered.
        var raw = try AgentTestSupport.RawPeer()
        let codecB = PacketCodec(clusterName: "agent-tests", security: .encrypted(Keyring(primary: keyB)))
        try raw.ping(agents[0].id, sequence: 1, with: PacketCodec(clusterName: "agent-tests", security: .encrypted(Keyring(primary: keyA))), to: agents[0].address)
        try raw.ping(agents[0].id, sequence: 2, with: codecB, to: agents[0].address)
        let answer = try raw.receive(with: codecB)
        guard case .ack(let ack) = answer else { Issue.record("no ack: \(String(describing: answer))"); return }
        #expect(ack.sequence == 2)
        #expect(agents[0].agent.counters.authenticationFailures == 1)
        await AgentTestSupport.stopAll(agents)
    }

    @Test func garbageIsCountedAndTheAgentKeepsWorking() async throws {
        let agents = try AgentTestSupport.startCluster(count: 3, firstID: 0x900)
        #expect(await AgentTestSupport.eventually { AgentTestSupport.converged(agents) })
        let target = agents[0]
        let codec = PacketCodec(clusterName: "agent-tests", security: .plain)
        let garbageStarted = MonotonicClock.now()
        let raw = try AgentTestSupport.RawPeer()
        var rng = SeededGenerator(seed: 0x6A2B)

        var sent = 0
        for _ in 0..<300 {
            raw.send((0..<rng.below(1_400)).map { _ in UInt8.random(in: 0...255, using: &rng) }, to: target.address)
            sent += 1
        }
        let valid = try codec.seal(.ping(Ping(sequence: 9, target: target.id, source: NodeID(0xFEED))))
        for length in 0..<valid.count {
            raw.send(Array(valid.prefix(length)), to: target.address)
            sent += 1
        }
        raw.send(valid + [0], to: target.address)
        sent += 1
        for size in [1_401, 9_000, 65_000] {
            raw.send([UInt8](repeating: 0x4C, count: size), to: target.address)
        }
        #expect(await AgentTestSupport.eventually {
            let counters = target.agent.counters
            return counters.totalDecodeErrors == sent && counters.oversizeDatagrams == 3
        }, "decode errors \(target.agent.counters.decodeErrors), oversize \(target.agent.counters.oversizeDatagrams), sent \(sent)")
        #expect(target.agent.counters.decodeErrors(.truncated) >= valid.count - 8)
        #expect(target.agent.counters.decodeErrors(.trailingBytes) == 1)

        // Garbage on the TCP port: a frame announcing 4 GiB, random bytes in a frame, and silence.
        let bigPrefix = try StreamConnection.connect(to: target.address, timeout: AgentTestSupport.patience)
        #expect(TransportTestSupport.sendRaw([0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3], on: bigPrefix))
        let randomFrame = try StreamConnection.connect(to: target.address, timeout: AgentTestSupport.patience)
        try randomFrame.writeFrame((0..<200).map { _ in UInt8.random(in: 0...255, using: &rng) }, timeout: AgentTestSupport.patience)
        let silent = try StreamConnection.connect(to: target.address, timeout: AgentTestSupport.patience)
        // The agent closes each of them without an answer.
        for connection in [bigPrefix, randomFrame] {
            #expect(throws: StreamError.self) { _ = try connection.readFrame(timeout: AgentTestSupport.patience) }
            connection.close()
        }

        // Still working: a ping over UDP and one over TCP are answered, and nobody suspected it.
        var peer = try AgentTestSupport.RawPeer()
        try peer.ping(target.id, sequence: 77, with: codec, to: target.address)
        let answer = try peer.receive(with: codec)
        guard case .ack(let ack) = answer else { Issue.record("no ack: \(String(describing: answer))"); return }
        #expect(ack.sequence == 77)
        let stream = try StreamConnection.connect(to: target.address, timeout: AgentTestSupport.patience)
        try stream.writeFrame(codec.seal(.ping(Ping(sequence: 78, target: target.id, source: NodeID(0xFEED)))), timeout: AgentTestSupport.patience)
        let streamAnswer = try codec.open(stream.readFrame(timeout: AgentTestSupport.patience))
        guard case .ack(let streamAck) = streamAnswer else { Issue.record("no stream ack: \(streamAnswer)"); return }
        #expect(streamAck.sequence == 78)
        stream.close()
        silent.close()

        #expect(AgentTestSupport.converged(agents))
        for agent in agents {
            #expect(!agent.recorder.all.contains { event in
                if event.at >= garbageStarted, case .suspected(let m, _) = event.kind { m.id == target.id } else { false }
            })
        }
        await AgentTestSupport.stopAll(agents)
    }
}
