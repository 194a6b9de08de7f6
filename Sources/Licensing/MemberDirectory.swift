import SWIM

/// What licensing knows of the other members, with the lookups the protocol makes kept up to date
/// one change at a time. A membership event costs a dictionary write and a binary search here, never
/// a pass over every member: in a mass start of N nodes each node hears of N changes, and a pass per
/// change made that O(N²) per node.
struct MemberDirectory: Sendable {
    private(set) var views: [NodeID: LicensingNode.MemberView] = [:]
    /// Members whose advert names one of the license's server MACs, lowest ID first: the only ones the
    /// election looks at, so choosing the authority costs the number of servers, not of members.
    private(set) var serverCandidates: [NodeID] = []
    /// Alive members advertising a valid license, lowest ID first: whom a replica pulls ledger entries from.
    private(set) var pullPeers: [NodeID] = []
    /// Members the membership layer holds neither alive nor suspect: the only ones whose cores may
    /// come back to the pool.
    private(set) var inactive: Set<NodeID> = []
    /// MACs advertised by more than one live member (this node included).
    private(set) var sharedMACs: Set<UInt64> = []
    /// Live members (and this node) by the MAC they advertise.
    private var macHolders: [UInt64: MACHolders]
    private var serverMACs: Set<UInt64> = []

    /// One holder, the usual case, costs no allocation.
    private enum MACHolders: Sendable {
        case one(NodeID)
        case several([NodeID])

        var nodes: [NodeID] {
            switch self {
            case .one(let node): [node]
            case .several(let nodes): nodes
            }
        }
    }

    init(ownID: NodeID, ownMAC: UInt64) {
        macHolders = [ownMAC: .one(ownID)]
    }

    subscript(node: NodeID) -> LicensingNode.MemberView? { views[node] }

    /// The live nodes advertising `mac`, lowest ID first.
    func holders(of mac: UInt64) -> [NodeID] { macHolders[mac]?.nodes.sorted() ?? [] }

    /// Stores what is now known of `node`, and updates every index the change touches.
    mutating func set(_ node: NodeID, _ view: LicensingNode.MemberView) {
        let old = views.updateValue(view, forKey: node)
        let oldMAC = old.flatMap(Self.liveMAC), newMAC = Self.liveMAC(view)
        if oldMAC != newMAC {
            if let oldMAC { removeHolder(node, of: oldMAC) }
            if let newMAC { addHolder(node, of: newMAC) }
        }
        Self.update(&serverCandidates, node, member: view.advert.map { serverMACs.contains($0.mac) } ?? false)
        Self.update(&pullPeers, node, member: view.state == .alive && view.advert?.licenseValid == true)
        if view.state.isActive { inactive.remove(node) } else { inactive.insert(node) }
    }

    /// Notes a licensing message from `node` (no index depends on it).
    mutating func noteHeard(from node: NodeID, at instant: Instant) {
        views[node]?.heardAt = instant
    }

    /// The license changed: which members are server candidates follows its server list.
    mutating func relicense(serverMACs newServers: Set<UInt64>) {
        guard newServers != serverMACs else { return }
        serverMACs = newServers
        serverCandidates = views.compactMap { node, view in view.advert.map { newServers.contains($0.mac) } == true ? node : nil }.sorted()
    }

    /// The MAC a member counts under for duplicates: an alive member's advertised one.
    private static func liveMAC(_ view: LicensingNode.MemberView) -> UInt64? {
        view.state == .alive ? view.advert?.mac : nil
    }

    private mutating func addHolder(_ node: NodeID, of mac: UInt64) {
        switch macHolders[mac] {
        case nil: macHolders[mac] = .one(node)
        case .one(let other)?:
            macHolders[mac] = .several([other, node])
            sharedMACs.insert(mac)
        case .several(let nodes)?: macHolders[mac] = .several(nodes + [node])
        }
    }

    private mutating func removeHolder(_ node: NodeID, of mac: UInt64) {
        guard let holders = macHolders[mac] else { return }
        let rest = holders.nodes.filter { $0 != node }
        switch rest.count {
        case 0: macHolders[mac] = nil
        case 1: macHolders[mac] = .one(rest[0]); sharedMACs.remove(mac)
        default: macHolders[mac] = .several(rest)
        }
    }

    /// Adds `node` to or removes it from a sorted list.
    private static func update(_ list: inout [NodeID], _ node: NodeID, member: Bool) {
        var low = 0, high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle] < node { low = middle + 1 } else { high = middle }
        }
        let present = low < list.count && list[low] == node
        if member, !present { list.insert(node, at: low) } else if !member, present { list.remove(at: low) }
    }
}
