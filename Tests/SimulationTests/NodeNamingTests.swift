import Testing
import SWIM
import Simulation

@Suite struct NodeNamingTests {
    @Test func addressesRoundTrip() {
        for node in [0, 7, 17, 999, 123_456] {
            #expect(NodeNaming.node(of: NodeNaming.address(of: node), count: 200_000) == node)
            #expect(NodeNaming.node(of: NodeNaming.id(of: node), count: 200_000) == node)
        }
    }

    @Test func rejectsForeignAddresses() {
        for text in ["", "n", "x3", "n-1", "n1a", "n10", "10.0.0.1:7946", "n99999999999999"] {
            #expect(NodeNaming.node(of: Address(text), count: 10) == nil, "\(text)")
        }
        #expect(NodeNaming.node(of: NodeID(0), count: 10) == nil)
        #expect(NodeNaming.node(of: NodeID(11), count: 10) == nil)
    }

    @Test func mixedSeedsDiffer() {
        let seeds = Set((0..<1000).map { NodeNaming.mix(7, UInt64($0)) })
        #expect(seeds.count == 1000)
        #expect(NodeNaming.mix(7, 1) != NodeNaming.mix(8, 1))
    }
}
