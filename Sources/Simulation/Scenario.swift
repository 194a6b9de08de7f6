import SWIM
import Licensing

/// Everything that defines one simulated run. The same scenario (seed included) gives the same run.
///
/// Nodes are numbered `0..<nodeCount`; node `i` has ID `i + 1` and address `n<i>` (see `NodeNaming`).
/// Times in faults are offsets from the start of the run.
public struct Scenario: Hashable, Sendable {
    public var nodeCount: Int
    public var settings: Settings
    /// Length of the run in (nominal) protocol periods, i.e. `settings.probeInterval`s.
    public var periods: Int
    /// Seeds every node's generator and the network's: one number reproduces the run.
    public var seed: UInt64
    public var start: StartMode = .bootstrapped
    /// Nodes start at random offsets within this span. Nil means: zero when bootstrapped (every node
    /// believes every other is up, so all must be; the instances randomise their first probe anyway),
    /// one probe interval when joining (joiners that wait for a seed model a rolling start).
    public var startSpread: Duration?
    public var network = NetworkConditions()
    public var faults: [Fault] = []
    /// The nodes that joiners and restarted nodes contact. Nil means the first three nodes that start
    /// at the beginning.
    public var seedNodes: [Int]?
    /// Count `WireSize.encryptionOverhead` in every message's bytes (the runtime encrypts by default).
    public var countEncryptionOverhead = false
    /// Check convergence at this interval and report when the cluster last became converged.
    /// Costs O(n^2) per check: meant for small and medium clusters.
    public var convergenceCheckInterval: Duration?
    /// Metadata every node announces (replaced by the licensing advert when there is a license).
    public var metadata: [UInt8] = []
    /// A license, and clients using it: the licensing layer runs on every node.
    public var licensing: LicensingScenario?
    /// A hostile network for a window of the run (replays, forgeries): see `Adversary`.
    public var adversary: Adversary?
    /// How long after the last fault (its heal, a restart, the end of a dead node's grace period) the
    /// liveness invariants must hold; nil: 20 protocol periods. See docs/invariants.md.
    public var livenessBound: Duration?

    /// The liveness bound in force.
    public var effectiveLivenessBound: Duration { livenessBound ?? settings.probeInterval * 20 }

    public init(nodeCount: Int, settings: Settings = .lan, periods: Int, seed: UInt64) {
        self.nodeCount = nodeCount
        self.settings = settings
        self.periods = periods
        self.seed = seed
    }

    /// How long the run lasts.
    public var duration: Duration { settings.probeInterval * periods }

    /// How the nodes that are there from the beginning find each other.
    public enum StartMode: Hashable, Sendable {
        /// Every node starts with the full, converged member list (`SWIMInstance.bootstrap`):
        /// what large runs use, so that they measure steady state rather than 10,000 joins.
        case bootstrapped
        /// Every node joins through the seed nodes, as a real deployment does.
        case joining
    }

    /// Crashes `count` distinct nodes chosen at random (from the scenario's seed) at random times in
    /// `window`, never a seed node when enough other nodes exist.
    public mutating func addRandomCrashes(_ count: Int, in window: Range<Duration>) {
        var random = SeededGenerator(seed: NodeNaming.mix(seed, 0xC4A5_4E5))
        let lateJoiners = Set(faults.compactMap { if case .join(let node) = $0.kind { node } else { nil } })
        let seeds = Set(seedNodes ?? [])
        var candidates = (0..<nodeCount).filter { !lateJoiners.contains($0) && !seeds.contains($0) }
        if candidates.count < count { candidates = (0..<nodeCount).filter { !lateJoiners.contains($0) } }
        let span = max(window.upperBound.nanoseconds - window.lowerBound.nanoseconds, 1)
        for _ in 0..<min(count, candidates.count) {
            let node = candidates.remove(at: random.below(candidates.count))
            let offset = Int64(random.next(upperBound: UInt64(span)))
            faults.append(Fault(at: window.lowerBound + .nanoseconds(offset), .crash(node: node)))
        }
    }

    func validate() throws(ScenarioError) {
        do { try settings.validate() } catch { throw ScenarioError("\(error)") }
        if nodeCount < 1 || nodeCount > 1_000_000 { throw ScenarioError("nodeCount must be in 1...1000000 (got \(nodeCount))") }
        if periods < 1 { throw ScenarioError("periods must be at least 1 (got \(periods))") }
        if let spread = startSpread, spread < .zero { throw ScenarioError("startSpread must not be negative") }
        if let adversary {
            if adversary.from < .zero || adversary.until < adversary.from { throw ScenarioError("adversary: the window must run forward from a non-negative start") }
            if adversary.replaysPerSecond < 0 || adversary.forgeriesPerSecond < 0 || adversary.recorderCapacity < 1 {
                throw ScenarioError("adversary: rates must not be negative and the recorder must hold at least one message")
            }
        }
        if let bound = livenessBound, bound <= .zero { throw ScenarioError("livenessBound must be positive (got \(bound))") }
        if let interval = convergenceCheckInterval, interval <= .zero {
            throw ScenarioError("convergenceCheckInterval must be positive (got \(interval))")
        }
        if metadata.count > Member.maximumMetadataLength {
            throw ScenarioError("metadata is \(metadata.count) bytes; at most \(Member.maximumMetadataLength)")
        }
        try network.link.validate("network.link")
        for (i, rule) in network.rules.enumerated() {
            try rule.conditions.validate("network.rules[\(i)]")
            try checkNodes(rule.from ?? [], "network.rules[\(i)].from")
            try checkNodes(rule.to ?? [], "network.rules[\(i)].to")
        }
        try checkNodes(seedNodes ?? [], "seedNodes")
        if let licensing {
            do { try licensing.settings.validate() } catch { throw ScenarioError("licensing: \(error)") }
            if licensing.servers < 1 || licensing.servers > min(nodeCount, LicenseTerms.maximumServers) {
                throw ScenarioError("licensing.servers must be in 1...\(min(nodeCount, LicenseTerms.maximumServers)) (got \(licensing.servers))")
            }
            if licensing.maxCores < 1 { throw ScenarioError("licensing.maxCores must be positive") }
            if licensing.coresPerNode < 1 { throw ScenarioError("licensing.coresPerNode must be positive") }
            try checkNodes(licensing.clients, "licensing.clients")
            try checkNodes(licensing.unlistedNodes, "licensing.unlistedNodes")
        }
        for (i, fault) in faults.enumerated() {
            let name = "faults[\(i)]"
            if fault.at < .zero { throw ScenarioError("\(name).at must not be negative (got \(fault.at))") }
            switch fault.kind {
            case .crash(let node), .join(let node), .renewLicense(let node), .releaseCores(let node):
                try checkNodes([node], name)
            case .restart(let node, _):
                try checkNodes([node], name)
            case .leave(let node, let stopAfter):
                try checkNodes([node], name)
                if let stopAfter, stopAfter < .zero { throw ScenarioError("\(name): stopAfter must not be negative") }
            case .partition(let partition, let until):
                try checkNodes(partition.side, "\(name).side")
                try checkNodes(partition.otherSide ?? [], "\(name).otherSide")
                if partition.side.isEmpty { throw ScenarioError("\(name): a partition needs at least one node on its side") }
                if let until, until < fault.at { throw ScenarioError("\(name): heals (\(until)) before it starts (\(fault.at))") }
            case .slow(let node, let delay, let until):
                try checkNodes([node], name)
                if delay < .zero { throw ScenarioError("\(name): the delay must not be negative (got \(delay))") }
                if let until, until < fault.at { throw ScenarioError("\(name): ends (\(until)) before it starts (\(fault.at))") }
            }
        }
    }

    private func checkNodes(_ nodes: [Int], _ field: String) throws(ScenarioError) {
        for node in nodes where node < 0 || node >= nodeCount {
            throw ScenarioError("\(field) names node \(node), but nodes are numbered 0...\(nodeCount - 1)")
        }
    }
}

/// One thing that happens to the cluster at a given time.
public struct Fault: Hashable, Sendable {
    /// Offset from the start of the run.
    public var at: Duration
    public var kind: Kind

    public init(at: Duration, _ kind: Kind) { self.at = at; self.kind = kind }

    public enum Kind: Hashable, Sendable {
        /// The node stops dead: nothing is delivered to it and it does nothing more.
        case crash(node: Int)
        /// A fresh instance with the same ID and address, incarnation `incarnationFloor`, joins through the seeds.
        case restart(node: Int, incarnationFloor: UInt64 = 0)
        /// The node calls `leave`, keeps running for `stopAfter` (nil: three probe intervals) so it
        /// can answer pings while the news spreads, then stops.
        case leave(node: Int, stopAfter: Duration? = nil)
        /// The node is absent until `at`, then joins through the seeds.
        case join(node: Int)
        /// The cut holds from `at` until `until` (nil: to the end of the run).
        case partition(Partition, until: Duration? = nil)
        /// Everything delivered to the node is handed to it `delay` late, from `at` until `until`
        /// (nil: to the end): an overloaded process, Lifeguard's case.
        case slow(node: Int, delay: Duration, until: Duration? = nil)
        /// An operator installs the renewed license (`LicensingScenario.terms(version: 1, ...)`) on the
        /// node and reloads it; later lives of the node start with it too.
        case renewLicense(node: Int)
        /// The node gives its cores back (`ClusterNode.release`), as an operator's `licmesh release` would.
        case releaseCores(node: Int)
    }
}
