import Testing
@testable import Licensing
import SWIM

/// The licensing node's member indexes follow each change, so a membership event need not rescan
/// every member: checked against what a scan of the whole view finds.
@Suite struct MemberDirectoryTests {
    typealias View = LicensingNode.MemberView

    static func view(_ state: MemberState, mac: UInt64, valid: Bool = true) -> View {
        View(state: state, address: Address("a"), advert: NodeAdvert(mac: mac, licenseID: "L", licenseValid: valid), inactiveSince: nil)
    }

    @Test func indexesFollowEachChange() {
        var directory = MemberDirectory(ownID: NodeID(1), ownMAC: 0xA1)
        directory.relicense(serverMACs: [0xA1, 0xA2, 0xA3])
        directory.set(NodeID(3), Self.view(.alive, mac: 0xA3))
        directory.set(NodeID(2), Self.view(.alive, mac: 0xA2))
        directory.set(NodeID(9), Self.view(.alive, mac: 0xB9, valid: false))
        directory.set(NodeID(5), Self.view(.suspect, mac: 0xB5))
        #expect(directory.serverCandidates == [NodeID(2), NodeID(3)])
        #expect(directory.pullPeers == [NodeID(2), NodeID(3)], "alive and licensed only")
        #expect(directory.inactive.isEmpty)
        #expect(directory.sharedMACs.isEmpty)

        // Node 7 claims node 2's MAC, and this node's own: both are shared while it is alive.
        directory.set(NodeID(7), Self.view(.alive, mac: 0xA2))
        #expect(directory.sharedMACs == [0xA2])
        #expect(directory.holders(of: 0xA2) == [NodeID(2), NodeID(7)])
        #expect(directory.serverCandidates == [NodeID(2), NodeID(3), NodeID(7)])
        directory.set(NodeID(7), Self.view(.alive, mac: 0xA1))
        #expect(directory.sharedMACs == [0xA1])
        #expect(directory.holders(of: 0xA1) == [NodeID(1), NodeID(7)])
        #expect(directory.holders(of: 0xA2) == [NodeID(2)])

        // Held dead: no longer a holder of any MAC, nor a pull peer; its cores may come back.
        directory.set(NodeID(7), Self.view(.dead, mac: 0xA1))
        #expect(directory.sharedMACs.isEmpty)
        #expect(directory.inactive == [NodeID(7)])
        directory.set(NodeID(2), Self.view(.suspect, mac: 0xA2))
        #expect(directory.pullPeers == [NodeID(3)])
        #expect(directory.serverCandidates == [NodeID(2), NodeID(3), NodeID(7)], "a suspect server is still a candidate")

        // Back alive.
        directory.set(NodeID(7), Self.view(.alive, mac: 0xC7))
        #expect(directory.inactive.isEmpty)
        #expect(directory.serverCandidates == [NodeID(2), NodeID(3)])
        #expect(directory.pullPeers == [NodeID(3), NodeID(7)])

        // A renewal naming other servers.
        directory.relicense(serverMACs: [0xA1, 0xC7])
        #expect(directory.serverCandidates == [NodeID(7)])
    }

    /// Changes passed one by one (as `ClusterNode` passes SWIM's events) leave a licensing node where
    /// the whole view passed at once leaves it.
    @Test func changesOneByOneEqualTheWholeView() throws {
        let terms = LicenseTerms(id: "L", maxCores: 10, hosts: [0xA1, 0xA2, 0xA3, 0xA4, 0xA5], servers: [0xA1, 0xA2, 0xA3], features: [],
                                 notBefore: 0, expires: Int64.max / 2)
        let adverts = (1...5).map { NodeAdvert(mac: 0xA0 + UInt64($0), licenseID: "L", licenseValid: true) }
        func member(_ n: Int, _ state: MemberState, mac: UInt64? = nil) -> Member {
            var advert = adverts[n - 1]
            if let mac { advert.mac = mac }
            return Member(id: NodeID(UInt64(n)), address: Address("n\(n)"), incarnation: 0, state: state, metadata: advert.metadata)
        }
        var whole = try LicensingNode(id: NodeID(1), mac: 0xA1, terms: terms, licenseValid: true)
        var stepwise = whole
        let final = [member(2, .dead), member(3, .alive), member(4, .alive, mac: 0xA3), member(5, .suspect)]
        _ = whole.updateMembership(final, now: .zero)
        _ = stepwise.updateMembers([member(2, .alive), member(3, .alive), member(4, .alive), member(5, .alive)], forgotten: [], now: .zero)
        _ = stepwise.updateMembers([member(2, .dead)], forgotten: [], now: .zero)
        _ = stepwise.updateMembers([member(5, .suspect), member(4, .alive, mac: 0xA3)], forgotten: [], now: .zero)
        for node in [whole, stepwise] {
            #expect(node.serverCandidates == [NodeID(2), NodeID(3), NodeID(4)])
            #expect(node.members.pullPeers == [NodeID(3), NodeID(4)])
            #expect(node.duplicateMACs == [MACConflict(mac: 0xA3, nodes: [NodeID(3), NodeID(4)])])
            #expect(node.members.inactive == [NodeID(2)])
        }
        #expect(whole.expectedAuthority == stepwise.expectedAuthority)
    }
}
