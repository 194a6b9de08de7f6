import Crypto
@testable import Mesh
import SWIM
import Testing
import Wire

/// Configuration checks and the event line format: no sockets.
@Suite struct AgentConfigTests {
    func config(bind: SocketAddress = .loopbackV4(port: 0), security: GossipSecurity = .plain) -> AgentConfig {
        AgentConfig(nodeID: NodeID(1), bindAddress: bind, clusterName: "c", security: security)
    }

    func problemField(_ config: AgentConfig) -> String? {
        do { try config.validate(); return nil } catch { return error.field }
    }

    @Test func theBudgetSetsSWIMsMessageSizeLeavingRoomForEncryption() {
        var plain = config()
        #expect(plain.effectiveSettings.maxMessageSize == 1_400)
        plain.packetBudget = 9_000
        #expect(plain.effectiveSettings.maxMessageSize == 9_000)
        let sealed = config(security: .encrypted(Keyring(primary: .random())))
        #expect(sealed.effectiveSettings.maxMessageSize == 1_400 - WireSize.encryptionOverhead)
        #expect(problemField(sealed) == nil)
    }

    @Test func aWildcardIsNeverAdvertised() {
        #expect(problemField(config(bind: .anyV4(port: 7946))) == "advertiseAddress")
        var explicit = config(bind: .anyV4(port: 7946))
        explicit.advertiseAddress = SocketAddress(ip: .v4(0x0A00_0005), port: 0)
        #expect(problemField(explicit) == nil)
        explicit.advertiseAddress = .anyV4(port: 7946)
        #expect(problemField(explicit) == "advertiseAddress")
        explicit.advertiseAddress = .loopbackV6(port: 7946)
        #expect(problemField(explicit) == "advertiseAddress", "families must match")
    }

    @Test func impossibleValuesNameTheirField() {
        var c = config()
        c.packetBudget = 100
        #expect(problemField(c) == "packetBudget")
        c = config()
        c.clusterName = ""
        #expect(problemField(c) == "clusterName")
        c = config()
        c.maximumIncomingStreams = 0
        #expect(problemField(c) == "maximumIncomingStreams")
        c = config()
        c.settings.probeTimeout = .seconds(5)
        #expect(problemField(c) == "settings.probeTimeout")
        c = config()
        c.metadata = [UInt8](repeating: 0, count: Member.maximumMetadataLength + 1)
        #expect(problemField(c) == "metadata")
    }

    @Test func defaultsFollowTheProbeInterval() {
        var c = config()
        c.settings.probeInterval = .seconds(1)
        #expect(c.effectiveLeaveLinger == .seconds(2))
        #expect(c.effectiveStreamTimeout == .seconds(2))
        c.settings = .local
        #expect(c.effectiveLeaveLinger == .milliseconds(400))
        #expect(c.effectiveStreamTimeout == .seconds(1))
    }

    @Test func eventLinesRoundTripThroughTheParser() {
        let member = Member(id: NodeID(0xA5), address: "127.0.0.1:7947", incarnation: 3, state: .suspect)
        let event = MembershipEvent(at: Instant(nanoseconds: 12_345_678_901), kind: .suspected(member, by: NodeID(0xA3)))
        let line = EventLine.format(event, node: NodeID(0xA2))
        #expect(line == "event=suspected node=00000000000000a2 member=00000000000000a5 address=127.0.0.1:7947 incarnation=3 by=00000000000000a3 at_ms=12345\n")
        let fields = EventLine.parse(line[...])
        #expect(fields?["event"] == "suspected")
        #expect(fields?["by"] == "00000000000000a3")
        #expect(fields?["at_ms"] == "12345")

        let odd = EventLine.format(name: "x", node: NodeID(1), fields: [LogField("msg", "a \"quoted\"\nline=1")], at: .zero)
        #expect(!odd.dropLast().contains("\n"), "one event, one line")
        #expect(EventLine.parse(odd[...])?["msg"] == "a \"quoted\"\nline=1")
        #expect(EventLine.parse("not an event line") == nil)
    }

    @Test func macAddressesParse() {
        #expect(HostIdentity.parseMAC("02:42:ac:11:00:02") == 0x0242_AC11_0002)
        #expect(HostIdentity.parseMAC("02:42:ac:11:00") == nil)
        #expect(HostIdentity.parseMAC("zz:42:ac:11:00:02") == nil)
    }
}
