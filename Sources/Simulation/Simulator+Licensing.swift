import SWIM
import Licensing

/// Bookkeeping of the licensing layer across a run: who holds what, and the invariants of
/// ../shared/DESIGN.md checked after every event the simulator processes.
struct LicensingTracker {
    var held: [Int]                 // cores each node's current life holds (its confirmed grant)
    var everHeld: [Bool]            // this life held cores at some point
    var liveHeld = 0
    var maxHeld = 0
    var partitionSeen = false
    var records: [LicensingRecord] = []
    var validations = 0
    var failedValidations = 0
    var overLimitSteps = 0
    var lostGrants = 0
    var grants = 0
    var refusals = 0
    var epochs: Set<UInt32> = []
    var takeovers: [Takeover] = []
    var pendingTakeovers: [(index: Int, crashedNode: NodeID, at: Instant)] = []
    /// What each node's data directory holds (its licensing state when its last life ended).
    var durable: [LicensingDurableState?]

    init(nodeCount: Int) {
        durable = [LicensingDurableState?](repeating: nil, count: nodeCount)
        held = [Int](repeating: 0, count: nodeCount)
        everHeld = [Bool](repeating: false, count: nodeCount)
    }
}

/// One licensing event as a node reported it.
public struct LicensingRecord: Hashable, Sendable {
    public var time: Instant
    public var node: Int
    public var event: LicensingEvent
}

extension Simulator {
    func makeLicensingNode(for node: Int) -> LicensingNode? {
        guard let licensing = scenario.licensing else { return nil }
        guard var fresh = try? LicensingNode(id: NodeNaming.id(of: node), mac: LicensingScenario.mac(of: node),
                                             terms: licensing.terms(nodeCount: nodeCount), licenseValid: true,
                                             settings: licensing.settings,
                                             requestIDBase: NodeNaming.mix(scenario.seed, UInt64(node) << 24 | UInt64(nodes[node].life)) >> 1)
        else { return nil }
        // Agents keep their licensing state in their data directory; a restart picks it up.
        if licensing.persistentState, let saved = tracker.durable[node] { fresh.restore(saved) }
        return fresh
    }

    /// The metadata a node announces (its licensing advert when the scenario has a license).
    func initialMetadata(of node: Int) -> [UInt8] {
        guard let licensing = scenario.licensing else { return scenario.metadata }
        return NodeAdvert(mac: LicensingScenario.mac(of: node), licenseID: licensing.terms(nodeCount: nodeCount).id,
                          licenseValid: true).metadata
    }

    /// A node started: it asks for its cores (the agent does so when it starts).
    func licensingLifeStarted(_ node: Int) {
        guard scenario.licensing != nil else { return }
        tracker.held[node] = 0
        tracker.everHeld[node] = false
        if let output = instances[node]?.acquire(now: now) {
            apply(output, of: node, streamPeer: nil)
            scheduleTick(node)
        }
    }

    /// A node's life ended: what it held no longer counts as held by a live node.
    func licensingLifeEnded(_ node: Int) {
        guard scenario.licensing != nil else { return }
        if instances[node]?.licensing?.isAuthority == true {
            tracker.takeovers.append(Takeover(authorityNode: node, crashedAt: now.seconds))
            tracker.pendingTakeovers.append((tracker.takeovers.count - 1, NodeNaming.id(of: node), now))
        }
        tracker.liveHeld -= tracker.held[node]
        tracker.held[node] = 0
        tracker.durable[node] = instances[node]?.licensing?.durableState
    }

    func recordLicensing(_ events: [LicensingEvent], at node: Int) {
        for event in events {
            tracker.records.append(LicensingRecord(time: now, node: node, event: event))
            digest.add(UInt64(bitPattern: event.at.nanoseconds) ^ UInt64(node))
            switch event.kind {
            case .ownGrant(let grant):
                setHeld(node, grant.cores)
                tracker.everHeld[node] = true
            case .ownGrantLost:
                setHeld(node, 0)
                if !tracker.partitionSeen, nodes[node].status == .running { tracker.lostGrants += 1 }
            case .acquired(_, let from):
                for (position, pending) in tracker.pendingTakeovers.enumerated().reversed() where from != pending.crashedNode {
                    tracker.takeovers[pending.index].firstServedAfter = (now - pending.at).seconds
                    tracker.takeovers[pending.index].newAuthorityNode = NodeNaming.node(of: from, count: nodeCount)
                    tracker.pendingTakeovers.remove(at: position)
                }
            case .granted:
                tracker.grants += 1
            case .refused:
                tracker.refusals += 1
            case .authorityChanged(let epoch, _):
                tracker.epochs.insert(epoch.rawValue)
            default:
                break
            }
        }
    }

    func setHeld(_ node: Int, _ cores: Int) {
        guard nodes[node].status.isUp else { return }
        tracker.liveHeld += cores - tracker.held[node]
        tracker.held[node] = cores
        tracker.maxHeld = max(tracker.maxHeld, tracker.liveHeld)
    }

    /// After every event: live nodes never hold more than the license allows (under `available`, only
    /// while no partition has happened: the documented excess is measured instead).
    @inline(__always)
    func checkLicensingInvariants() {
        guard let licensing = scenario.licensing else { return }
        if !partitions.isEmpty { tracker.partitionSeen = true }
        guard tracker.liveHeld > licensing.maxCores else { return }
        let policy = instances.lazy.compactMap { $0?.licensing?.policy }.first ?? .available
        if policy == .majority || !tracker.partitionSeen { tracker.overLimitSteps += 1 }
    }

    /// The periodic licensing round: clients acquire, every live node validates.
    func licensingRound() {
        guard let licensing = scenario.licensing else { return }
        for client in licensing.clients where nodes[client].status == .running {
            guard instances[client]?.licensing?.hasPendingRequest == false else { continue }
            if let output = instances[client]?.acquire(now: now) {
                apply(output, of: client, streamPeer: nil)
                scheduleTick(client)
            }
        }
        let unixTime = LicensingScenario.unixEpochOfRun + Int64(now.seconds)
        for node in liveNodes {
            guard let check = instances[node]?.validate(feature: "batch", unixTime: unixTime) else { continue }
            tracker.validations += 1
            if !check.isAllowed, tracker.everHeld[node], !tracker.partitionSeen { tracker.failedValidations += 1 }
        }
        queue.push(.action(.licensingRound), at: now + min(licensing.clientInterval, licensing.validationInterval))
    }

    /// Every live node holds the same ledger.
    public func ledgersConverged() -> Bool {
        let ledgers = liveNodes.compactMap { instances[$0]?.licensing?.ledger }
        guard let first = ledgers.first else { return true }
        return ledgers.allSatisfy { $0 == first }
    }

    public var licensingRecords: [LicensingRecord] { tracker.records }

    public func licensingReport() -> LicensingReport? {
        guard let licensing = scenario.licensing else { return nil }
        let policy = instances.lazy.compactMap { $0?.licensing?.policy }.first
            ?? licensing.settings.policy ?? licensing.terms(nodeCount: nodeCount).defaultPolicy
        let served = tracker.takeovers.compactMap(\.firstServedAfter)
        return LicensingReport(
            maxCores: licensing.maxCores, policy: policy.rawValue, takeovers: tracker.takeovers,
            takeoverTime: Distribution(served, period: scenario.settings.probeInterval.seconds),
            validations: tracker.validations, failedValidations: tracker.failedValidations,
            overLimitSteps: tracker.overLimitSteps, lostGrants: tracker.lostGrants,
            maxHeldCores: tracker.maxHeld, maxExcess: max(0, tracker.maxHeld - licensing.maxCores),
            grants: tracker.grants, refusals: tracker.refusals, epochs: tracker.epochs.count,
            ledgersConverged: ledgersConverged())
    }
}
