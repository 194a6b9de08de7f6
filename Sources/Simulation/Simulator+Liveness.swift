import SWIM
import Licensing

/// Liveness: what must eventually happen once faults stop. Every fault (a start, crash, restart, heal,
/// release, license reload) extends the moment by which the cluster must have settled
/// (`settleDeadline`) to the liveness bound after it. At that moment, if no partition is active and no
/// later fault moved it, the invariants of docs/invariants.md are checked. Two things move the check
/// later: a node still waiting to retry its join (to its next attempt plus the bound), and a node that
/// is still down (its cores come back only after the grace period: to its crash plus the grace period
/// plus the bound). They are checked once more at the end of the run.
extension Simulator {
    /// How long after a scenario step the cluster must have settled; nil for steps that are not faults
    /// (or, a partition, whose heal is the fault that settles).
    func settleDelay(after action: FaultAction) -> Duration? {
        let bound = scenario.effectiveLivenessBound
        switch action {
        case .start, .restart, .stop, .heal, .slow, .renewLicense, .releaseCores, .crash, .adversaryEnd:
            return bound
        case .leave(_, let stopAfter):
            return stopAfter + bound
        case .partition, .checkConvergence, .licensingRound, .checkLiveness, .checkReplicas, .adversaryMove:
            return nil
        }
    }

    func noteFault(_ action: FaultAction) {
        guard let delay = settleDelay(after: action) else { return }
        postponeSettling(to: now + delay)
    }

    func postponeSettling(to due: Instant) {
        guard due > settleDeadline else { return }
        settleDeadline = due
        queue.push(.action(.checkLiveness), at: due)
    }

    func checkLivenessIfSettled() {
        guard scenario.licensing != nil, now >= settleDeadline, partitions.isEmpty else { return }
        // A node that could not join at once (its seeds were down) retries with backoff: the bound
        // counts from its next attempt.
        if let retry = liveNodes.compactMap({ instances[$0]?.swim.nextJoinAttempt }).max(), retry > now {
            postponeSettling(to: retry + scenario.effectiveLivenessBound)
            return
        }
        // A node that is still down gives its cores back only after the grace period.
        if let grace = scenario.licensing?.settings.deadGracePeriod,
           let returned = nodes.compactMap({ $0.status == .crashed ? $0.spans.last?.end : nil }).max().map({ $0 + grace + scenario.effectiveLivenessBound }),
           returned > now {
            postponeSettling(to: returned)
            return
        }
        checkLiveness()
    }

    /// At the end of the run, if it ended settled (and the replicas, if it stayed settled for an
    /// anti-entropy period).
    func checkLivenessAtEnd() {
        guard scenario.licensing != nil, now >= settleDeadline, partitions.isEmpty else { return }
        checkLiveness()
        if let settledAt = lastSettledCheck, now >= settledAt + replicaDelay { checkReplicas() }
    }

    /// Gossip reaches most replicas within a few periods but guarantees nothing; the periodic
    /// push-pull does. So replicas are compared one push-pull interval after the rest of liveness held.
    var replicaDelay: Duration { scenario.settings.pushPullInterval }

    func checkReplicasIfStillSettled(since settledAt: Instant) {
        guard settleDeadline <= settledAt, partitions.isEmpty else { return }
        checkReplicas()
    }

    /// Whether an authority is established and every live node's ledger replica holds exactly its
    /// entries: what "replicas equal everywhere" means in the scale benchmark.
    public var ledgerReplicasAgree: Bool { replicasDifferingFromAuthority()?.isEmpty == true }

    /// Live nodes whose ledger replica differs from the authority's entries (the entries, not the
    /// newest stamp each has seen: a change withdrawn after its authority stepped down leaves that
    /// mark behind, harmlessly); nil while no authority is established.
    func replicasDifferingFromAuthority() -> [Int]? {
        let live = liveNodes
        guard let authorityNode = live.first(where: { instances[$0]?.licensing?.isAuthority == true }),
              let grants = instances[authorityNode]?.licensing?.ledger.grants else { return nil }
        return live.filter { instances[$0]?.licensing?.ledger.grants != grants }
    }

    /// Every live node sees every other alive, and every live node's ledger replica equals the authority's.
    func checkReplicas() {
        var problems: [String] = []
        if !isConverged() { problems.append("membership has not converged") }
        if let differing = replicasDifferingFromAuthority(), !differing.isEmpty {
            problems.append("the ledger replicas of nodes " + differing.map(String.init).joined(separator: ",") + " differ from the authority's")
        }
        guard !problems.isEmpty else { return }
        tracker.livenessViolationCount += 1
        tracker.violated("liveness, \(formatDuration(replicaDelay)) after the cluster settled: " + problems.joined(separator: "; "), at: now)
    }

    /// The liveness invariants, now. Each violation is recorded with the time; the run's report says
    /// how many checks failed.
    func checkLiveness() {
        guard let licensing = scenario.licensing else { return }
        tracker.livenessChecks += 1
        if lastSettledCheck != now {
            lastSettledCheck = now
            queue.push(.action(.checkReplicas(settledAt: now)), at: now + replicaDelay)
        }
        var problems: [String] = []
        let live = liveNodes
        let nodesOf = { (ids: [Int]) in ids.map(String.init).joined(separator: ",") }
        let state = { (node: Int) in self.instances[node]?.licensing }

        let unjoined = live.filter { instances[$0]?.swim.isJoined != true }
        if !unjoined.isEmpty { problems.append("nodes \(nodesOf(unjoined)) have not joined") }

        let policy = licensingPolicy
        let terms = licenseTerms(of: licensing, version: 0)
        // Servers whose clocks are too far off may not act as authority: they do not count.
        let skewBound = licensing.settings.maximumClockSkew
        let liveServers = live.filter { node in
            node < licensing.servers && (licensing.clockSkews[node].map { abs($0.seconds) <= skewBound.seconds } ?? true)
        }
        let enough = policy == .majority ? liveServers.count >= terms.majority : !liveServers.isEmpty
        let authorities = live.filter { state($0)?.isAuthority == true }
        if enough {
            if authorities.count != 1 {
                problems.append("\(authorities.count) authorities (\(nodesOf(authorities))) with servers \(nodesOf(liveServers)) up and connected")
            }
        }
        if let authorityNode = authorities.first, authorities.count == 1, let authority = state(authorityNode) {
            let strays = live.filter { state($0)?.authority != authority.id || state($0)?.epoch != authority.epoch }
            if !strays.isEmpty {
                problems.append("nodes \(nodesOf(strays)) do not follow authority \(authorityNode) at epoch \(authority.epoch)")
            }
            let held = { (node: Int) in state(node)?.ownGrant?.cores ?? 0 }
            let unlisted = Set(licensing.unlistedNodes)
            let departedCores = (0..<nodeCount).filter { !live.contains($0) }.reduce(0) { $0 + authority.ledger.cores(of: NodeNaming.id(of: $1)) }
            let liveHeld = live.reduce(0) { $0 + held($1) }
            for node in live where !unlisted.contains(node) {
                guard let wanted = state(node)?.desiredCores, wanted > 0, held(node) != wanted else { continue }
                let used = liveHeld - held(node) + departedCores
                if used + wanted <= licensing.maxCores {
                    problems.append("node \(node) holds \(held(node)) of the \(wanted) cores it wants, which fit (\(used) of \(licensing.maxCores) in use): "
                                    + (state(node)?.whyNoCores ?? ""))
                }
            }
            if liveHeld > licensing.maxCores {
                problems.append("live nodes hold \(liveHeld) cores, above the limit of \(licensing.maxCores), after every fault healed")
            }
            if liveServers.count == licensing.servers {
                let kept = (0..<nodeCount).filter { !live.contains($0) && authority.ledger.cores(of: NodeNaming.id(of: $0)) > 0 }
                if !kept.isEmpty { problems.append("the authority still counts the cores of departed nodes \(nodesOf(kept))") }
            }
        }
        guard !problems.isEmpty else { return }
        tracker.livenessViolationCount += 1
        tracker.violated("liveness: " + problems.joined(separator: "; "), at: now)
    }

    var livenessViolations: Int { tracker.livenessViolationCount }
}
