import Crypto
import Licensing
@testable import Mesh
import SWIM
import Testing
import Wire

extension TransportTests.LicensedPersistence {
    /// The audit's replay after a restart: a sealed packet the agent accepted is rejected by its next
    /// life (the floors were saved in the data directory), and so is one from an earlier life of its
    /// sender; the sender's next packet is answered.
    @Test func aPacketAcceptedBeforeARestartIsRejectedAfterIt() async throws {
        let fixture = LicensedFixture(cluster: "freshness")
        try fixture.writeLicense(hosts: [0, 1], servers: [0, 1])
        let key = SymmetricKey.random()
        var config = try fixture.config(0)
        config.agent.security = .encrypted(Keyring(primary: key))
        let stranger = NodeID(0xFEED)
        let earlierLife = PacketCodec(clusterName: fixture.cluster, security: .encrypted(Keyring(primary: key)),
                                      session: EnvelopeSession(sender: EnvelopeSender(id: stranger, boot: 1_000)))
        let sender = PacketCodec(clusterName: fixture.cluster, security: .encrypted(Keyring(primary: key)),
                                 session: EnvelopeSession(sender: EnvelopeSender(id: stranger, boot: 2_000)))
        var raw = try AgentTestSupport.RawPeer()

        let first = try LicensedAgent.start(config, logger: CapturingLogger())
        let captured = try sender.seal(.ping(Ping(sequence: 1, target: first.id, source: stranger)))
        raw.send(captured, to: first.agent.address)
        guard case .ack(let ack)? = try raw.receive(with: sender) else { Issue.record("the first life did not answer"); return }
        #expect(ack.sequence == 1)
        await first.stop()

        let second = try LicensedAgent.start(config, logger: CapturingLogger())
        raw.send(captured, to: second.agent.address)
        raw.send(try earlierLife.seal(.ping(Ping(sequence: 2, target: second.id, source: stranger))), to: second.agent.address)
        try raw.ping(second.id, sequence: 3, with: sender, to: second.agent.address)
        guard case .ack(let next)? = try raw.receive(with: sender) else { Issue.record("the second life did not answer"); return }
        #expect(next.sequence == 3, "only the fresh ping is answered")
        #expect(await AgentTestSupport.eventually {
            second.agent.counters.decodeErrors(.replayed) == 1 && second.agent.counters.decodeErrors(.earlierLife) == 1
        })
        #expect(await second.metrics().contains("licmesh_decode_failures_total{reason=\"replayed\"} 1"))
        await second.stop()
    }
}
