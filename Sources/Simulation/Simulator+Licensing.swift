import SWIM
import Licensing

/// Bookkeeping of the licensing layer across a run: who holds what, and the invariants of
/// docs/invariants.md: safety after every event the simulator processes, liveness once every fault
/// has healed (and at the end of the run).
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
    /// Under `available`: the most cores live nodes may hold while a partition lasts or its excess is
    /// being resolved (nil: the limit). See `partitionStarted`.
    var excessBound: Int?
    /// Inputs whose licensing reactions did not settle (`ClusterNode.reactionRoundLimit`).
    var reactionLimitHits = 0
    /// Every violated invariant, with its time: safety ones as they happen (first few), liveness ones
    /// at each check.
    var violations: [String] = []
    var livenessChecks = 0
    var livenessViolationCount = 0
    /// The clients' requests in flight (by ID: which node, since when), and the longest wait for an answer.
    var clientRequests: [RequestID: (node: Int, since: Instant)] = [:]
    var nextWallReading = Instant.zero
    var longestClientWait = Duration.zero

    init(nodeCount: Int) {
        durable = [LicensingDurableState?](repeating: nil, count: nodeCount)
        held = [Int](repeating: 0, count: nodeCount)
        everHeld = [Bool](repeating: false, count: nodeCount)
    }

    mutating func violated(_ text: String, at time: Instant) {
        if violations.count < 50 { violations.append("t=\(formatTime(time)): \(text)") }
    }
}

/// Seconds with millisecond precision, for violation reports.
func formatTime(_ instant: Instant) -> String {
    let ms = instant.nanoseconds / 1_000_000
    return "\(ms / 1000).\(String(ms % 1000).leftPadded(to: 3))s"
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
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
                                             terms: licenseTerms(of: licensing, version: licenseVersions[node]),
                                             licenseValid: true, settings: licensing.settings, life: UInt64(nodes[node].life),
                                             requestIDBase: NodeNaming.mix(scenario.seed, UInt64(node) << 24 | UInt64(nodes[node].life)) >> 1)
        else { return nil }
        // Agents keep their licensing state in their data directory; a restart picks it up.
        if licensing.persistentState, let saved = tracker.durable[node] { fresh.restore(saved) }
        return fresh
    }

    /// The metadata a node announces (its licensing advert when the scenario has a license).
    func initialMetadata(of node: Int) -> [UInt8] {
        guard let licensing = scenario.licensing else { return scenario.metadata }
        let terms = licenseTerms(of: licensing, version: 0)
        if let cached = initialMetadataByNode[node] { return cached }
        let metadata = NodeAdvert(mac: LicensingScenario.mac(of: node), licenseID: terms.id, licenseValid: true, lineage: terms.lineage, life: 1).metadata
        initialMetadataByNode[node] = metadata
        return metadata
    }

    /// The scenario's license of `version`, built once per run.
    func licenseTerms(of licensing: LicensingScenario, version: Int) -> LicenseTerms {
        if let cached = licenseTermsByVersion[version] { return cached }
        let terms = licensing.terms(version: version, nodeCount: nodeCount)
        licenseTermsByVersion[version] = terms
        return terms
    }

    /// A node's wall clock: the run's date plus virtual time, plus the node's skew.
    func wallClock(of node: Int) -> Int64 {
        let skew = scenario.licensing?.clockSkews[node].map { Int64($0.seconds.rounded()) } ?? 0
        return LicensingScenario.unixEpochOfRun + Int64(now.seconds.rounded(.down)) + skew
    }

    /// A node started: it reads its wall clock and asks for its cores (the agent does so when it starts).
    func licensingLifeStarted(_ node: Int) {
        guard scenario.licensing != nil else { return }
        tracker.held[node] = 0
        tracker.everHeld[node] = false
        if let output = instances[node]?.observeWallClock(unixSeconds: wallClock(of: node), now: now) { apply(output, of: node) }
        if let output = instances[node]?.acquire(now: now).1 {
            apply(output, of: node)
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
        tracker.durable[node] = instances[node]?.licensing?.durableState   // what the data directory holds
        // A request dies with its node's life: nobody waits for it any more.
        tracker.clientRequests = tracker.clientRequests.filter { $0.value.node != node }
    }

    func recordLicensing(_ events: [LicensingEvent], at node: Int) {
        for event in events {
            tracker.records.append(LicensingRecord(time: now, node: node, event: event))
            digest.add(UInt64(bitPattern: event.at.nanoseconds) ^ UInt64(node))
            switch event.kind {
            case .ownGrant(let grant):
                setHeld(node, grant.cores)
                tracker.everHeld[node] = true
            case .ownGrantLost(let reason):
                setHeld(node, 0)
                // A node that gave its cores back itself lost nothing.
                let chosen = instances[node]?.licensing?.desiredCores == 0
                if !tracker.partitionSeen, !chosen, nodes[node].status == .running {
                    tracker.lostGrants += 1
                    tracker.violated("node \(node) lost its grant without any partition: \(reason)", at: now)
                }
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
            case .requestSettled(let id, _):
                if let started = tracker.clientRequests.removeValue(forKey: id) {
                    tracker.longestClientWait = max(tracker.longestClientWait, now - started.since)
                }
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

    func reactionLimitHit(at node: Int, count: Int) {
        tracker.reactionLimitHits += count
        tracker.violated("node \(node): licensing reactions did not settle within \(ClusterNode.reactionRoundLimit) rounds", at: now)
    }

    var licensingPolicy: PartitionPolicy {
        instances.lazy.compactMap { $0?.licensing?.policy }.first
            ?? scenario.licensing.map { $0.settings.policy ?? licenseTerms(of: $0, version: 0).defaultPolicy } ?? .available
    }

    /// Safety, after every event: live nodes never hold more than the license allows; under
    /// `available`, while a partition lasts (and until its excess is revoked), no more than the
    /// documented bound (`partitionStarted`).
    @inline(__always)
    func checkLicensingInvariants() {
        guard let licensing = scenario.licensing else { return }
        if !partitions.isEmpty { tracker.partitionSeen = true }
        guard tracker.liveHeld > licensing.maxCores else {
            if partitions.isEmpty { tracker.excessBound = nil }
            return
        }
        let allowed = licensingPolicy == .available ? (tracker.excessBound ?? licensing.maxCores) : licensing.maxCores
        if tracker.liveHeld > allowed {
            tracker.overLimitSteps += 1
            tracker.violated("live nodes hold \(tracker.liveHeld) cores; at most \(allowed) allowed (limit \(licensing.maxCores), policy \(licensingPolicy.rawValue))", at: now)
        }
    }

    /// A partition began. Under `available` each side with a license server may grant the cores that
    /// were free when it began, so live nodes may hold up to that much more per extra such side.
    func partitionStarted() {
        guard let licensing = scenario.licensing else { return }
        let free = max(0, licensing.maxCores - tracker.liveHeld)
        let sides = connectedGroups().filter { group in group.contains { $0 < licensing.servers } }.count
        let bound = max(licensing.maxCores, tracker.liveHeld) + max(0, sides - 1) * free
        tracker.excessBound = max(tracker.excessBound ?? bound, bound)
    }

    /// Live nodes grouped by who can reach whom (both ways) under the current partitions.
    func connectedGroups() -> [[Int]] {
        var remaining = Set(liveNodes)
        var groups: [[Int]] = []
        while let first = remaining.min() {
            var group = [first]
            remaining.remove(first)
            var index = 0
            while index < group.count {
                let node = group[index]
                index += 1
                for other in remaining.sorted() where !partitioned(from: node, to: other) && !partitioned(from: other, to: node) {
                    remaining.remove(other)
                    group.append(other)
                }
            }
            groups.append(group.sorted())
        }
        return groups
    }

    /// An operator installs the renewed license on a node and reloads its agent (SIGHUP).
    func renewLicense(of node: Int) {
        guard let licensing = scenario.licensing else { return }
        licenseVersions[node] = 1
        guard nodes[node].status.isUp,
              let output = instances[node]?.replaceLicense(licenseTerms(of: licensing, version: 1), valid: true, now: now) else { return }
        apply(output, of: node)
        scheduleTick(node)
    }

    /// The node gives its cores back.
    func releaseCores(of node: Int) {
        guard nodes[node].status == .running, let output = instances[node]?.release(now: now).1 else { return }
        apply(output, of: node)
        scheduleTick(node)
    }

    /// The periodic licensing round: clients acquire, every live node validates.
    func licensingRound() {
        guard let licensing = scenario.licensing else { return }
        for client in licensing.clients where nodes[client].status == .running {
            guard instances[client]?.licensing?.hasPendingRequest == false,
                  let (id, output) = instances[client]?.acquire(now: now) else { continue }
            if let id { tracker.clientRequests[id] = (client, now) }
            apply(output, of: client)
            scheduleTick(client)
        }
        // Wall clocks are read once a second, as the agent reads its own.
        let readClocks = now >= tracker.nextWallReading
        if readClocks { tracker.nextWallReading = now + .seconds(1) }
        for node in liveNodes {
            if readClocks, let output = instances[node]?.observeWallClock(unixSeconds: wallClock(of: node), now: now) {
                apply(output, of: node)
                scheduleTick(node)
            }
            let unixTime = wallClock(of: node)
            guard let check = instances[node]?.validateInPlace(feature: "batch", unixTime: unixTime) else { continue }
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
        let served = tracker.takeovers.compactMap(\.firstServedAfter)
        return LicensingReport(
            maxCores: licensing.maxCores, policy: licensingPolicy.rawValue, takeovers: tracker.takeovers,
            takeoverTime: Distribution(served, period: scenario.settings.probeInterval.seconds),
            validations: tracker.validations, failedValidations: tracker.failedValidations,
            overLimitSteps: tracker.overLimitSteps, lostGrants: tracker.lostGrants,
            maxHeldCores: tracker.maxHeld, maxExcess: max(0, tracker.maxHeld - licensing.maxCores),
            grants: tracker.grants, refusals: tracker.refusals, epochs: tracker.epochs.count,
            ledgersConverged: ledgersConverged(), livenessChecks: tracker.livenessChecks,
            livenessViolations: livenessViolations, reactionLimitHits: tracker.reactionLimitHits,
            violations: tracker.violations, adversaryMoves: adversaryState.replays + adversaryState.forgeries,
            longestClientWait: tracker.clientRequests.values.map { now - $0.since }.reduce(tracker.longestClientWait, max).seconds)
    }
}
