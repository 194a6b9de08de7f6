import SWIM
import Licensing

/// Runs a whole cluster of `SWIMInstance`s on a virtual clock over a simulated network.
///
/// Everything happens in one thread, in the order of an event queue keyed by (time, insertion
/// order); all randomness comes from `SeededGenerator`s derived from the scenario's seed (one per
/// node life, one for the network). The same scenario therefore gives the same run, event for
/// event, which `digest` summarises.
///
///     var scenario = Scenario(nodeCount: 100, periods: 200, seed: 7)
///     scenario.faults = [Fault(at: .seconds(20), .crash(node: 3))]
///     let simulator = try Simulator(scenario)
///     simulator.run()
///     print(simulator.report())
public final class Simulator {
    public let scenario: Scenario
    public var nodeCount: Int { scenario.nodeCount }
    /// The virtual clock.
    public internal(set) var now: Instant = .zero
    /// When `run()` stops.
    public let endTime: Instant
    /// Every membership event, in order. Turn off with `recordsEvents` for huge runs that need only counters.
    public internal(set) var records: [EventRecord] = []
    public var recordsEvents = true
    /// Digest of every event and every delivered message: equal digests mean identical runs.
    public internal(set) var digest = TraceDigest()
    public internal(set) var network = NetworkCounters()
    public internal(set) var traffic = TrafficCounters()
    /// Events taken from the queue (messages, ticks, faults), for the benchmark.
    public internal(set) var eventsProcessed: UInt64 = 0
    /// With `scenario.convergenceCheckInterval`: since when the cluster has been converged at every
    /// check (nil when the last check found it not converged, or no check ran).
    public internal(set) var convergedSince: Instant?

    /// Called for every membership event as it happens (after it is recorded).
    public var onEvent: ((EventRecord) -> Void)?
    /// Called for every message handed to a node (after loss, partitions and slowness), before the
    /// node handles it: for tests of the network model and for tracing.
    public var onArrival: ((_ message: Message, _ from: Int, _ to: Int, _ overStream: Bool) -> Void)?
    /// Called when a node is handed an application payload.
    public var onDeliver: ((_ node: Int, _ payload: AppPayload, _ at: Instant) -> Void)?
    /// Called when a node is handed an application message (`from` is nil for a foreign address).
    public var onApplicationMessage: ((_ node: Int, _ message: AppMessage, _ from: Int?, _ at: Instant) -> Void)?

    var queue = EventQueue<SimulationEvent>()
    var tracker: LicensingTracker
    /// One composed node (SWIM, plus licensing when the scenario has a license) per index.
    var instances: [ClusterNode?]
    var nodes: [NodeRuntime]
    let addresses: [Address]
    var random: SeededGenerator
    let defaultLink: LinkModel
    let linkRules: [CompiledLinkRule]
    var partitions: [ActivePartition] = []
    /// Which license each node has installed (0: the first, 1: the renewal).
    var licenseVersions: [Int]
    /// By when the last fault so far must have settled (see `Simulator+Liveness`).
    var settleDeadline = Instant.zero
    /// When the last liveness check ran (the replicas are compared one push-pull interval later).
    var lastSettledCheck: Instant?
    var adversaryState = AdversaryState()
    var adversaryRandom: SeededGenerator
    let seedAddresses: [Address]
    let initialNodes: [Bool]
    /// The license of each version, built once: building one lists every host, and setup asks for
    /// each node's advert once per member (O(N^3) without these).
    var licenseTermsByVersion: [Int: LicenseTerms] = [:]
    var initialMetadataByNode: [Int: [UInt8]] = [:]

    public init(_ scenario: Scenario) throws(ScenarioError) {
        try scenario.validate()
        self.scenario = scenario
        let count = scenario.nodeCount
        endTime = .zero + scenario.duration
        instances = [ClusterNode?](repeating: nil, count: count)
        nodes = [NodeRuntime](repeating: NodeRuntime(), count: count)
        licenseVersions = [Int](repeating: 0, count: count)
        tracker = LicensingTracker(nodeCount: scenario.licensing == nil ? 0 : count)
        addresses = (0..<count).map(NodeNaming.address(of:))
        random = SeededGenerator(seed: NodeNaming.mix(scenario.seed, UInt64.max))
        adversaryRandom = SeededGenerator(seed: NodeNaming.mix(scenario.seed, 0xAD5E_5A41))
        defaultLink = LinkModel(scenario.network.link)
        linkRules = scenario.network.rules.map { CompiledLinkRule($0, nodeCount: count) }

        var initial = [Bool](repeating: true, count: count)
        for fault in scenario.faults {
            if case .join(let node) = fault.kind { initial[node] = false }
        }
        initialNodes = initial
        let seeds = scenario.seedNodes ?? Array((0..<count).filter { initial[$0] }.prefix(3))
        seedAddresses = seeds.map { NodeNaming.address(of: $0) }

        // Initial nodes start at random offsets within the spread (see `Scenario.startSpread`).
        let defaultSpread = scenario.start == .bootstrapped ? Duration.zero : scenario.settings.probeInterval
        let spread = (scenario.startSpread ?? defaultSpread).nanoseconds
        for node in 0..<count where initial[node] {
            let offset = spread > 0 ? Int64(random.next(upperBound: UInt64(spread))) : 0
            queue.push(.action(.start(node: node, bootstrap: scenario.start == .bootstrapped)), at: Instant(nanoseconds: offset))
        }
        for (index, fault) in scenario.faults.enumerated() {
            let at = Instant.zero + fault.at
            switch fault.kind {
            case .crash(let node): queue.push(.action(.crash(node: node)), at: at)
            case .restart(let node, let floor): queue.push(.action(.restart(node: node, incarnationFloor: floor)), at: at)
            case .leave(let node, let stopAfter):
                queue.push(.action(.leave(node: node, stopAfter: stopAfter ?? scenario.settings.probeInterval * 3)), at: at)
            case .join(let node): queue.push(.action(.start(node: node, bootstrap: false)), at: at)
            case .partition(_, let until):
                queue.push(.action(.partition(faultIndex: index)), at: at)
                if let until { queue.push(.action(.heal(faultIndex: index)), at: .zero + until) }
            case .slow(let node, let delay, let until):
                queue.push(.action(.slow(node: node, delay: delay.nanoseconds)), at: at)
                if let until { queue.push(.action(.slow(node: node, delay: 0)), at: .zero + until) }
            case .renewLicense(let node):
                queue.push(.action(.renewLicense(node: node)), at: at)
            case .releaseCores(let node):
                queue.push(.action(.releaseCores(node: node)), at: at)
            }
        }
        if scenario.licensing != nil {
            queue.push(.action(.licensingRound), at: .zero + .milliseconds(1))
        }
        if let interval = scenario.convergenceCheckInterval {
            queue.push(.action(.checkConvergence), at: .zero + interval)
        }
        if let adversary = scenario.adversary {
            queue.push(.action(.adversaryMove), at: .zero + adversary.from)
            queue.push(.action(.adversaryEnd), at: .zero + adversary.until)
        }
    }

    /// Runs to the end of the scenario, then checks liveness once more.
    public func run() {
        run(until: endTime)
        checkLivenessAtEnd()
    }

    /// Processes every event up to and including `time`, then sets the clock to `time`.
    public func run(until time: Instant) {
        while let next = queue.nextTime, next <= time, let popped = queue.pop() {
            now = popped.time
            eventsProcessed &+= 1
            handle(popped.payload)
            if scenario.licensing != nil { checkLicensingInvariants() }
        }
        if time > now { now = time }
    }

    /// Runs for `duration` more virtual time.
    public func run(for duration: Duration) { run(until: now + duration) }

    // MARK: - Inspection

    public func instance(_ node: Int) -> SWIMInstance? {
        instances.indices.contains(node) ? instances[node]?.swim : nil
    }

    /// The node's licensing state machine, when the scenario has a license.
    public func licensing(_ node: Int) -> LicensingNode? {
        instances.indices.contains(node) ? instances[node]?.licensing : nil
    }

    public func status(of node: Int) -> NodeStatus {
        nodes.indices.contains(node) ? nodes[node].status : .absent
    }

    /// The lives of a node so far.
    public func lives(of node: Int) -> [LifeSpan] {
        nodes.indices.contains(node) ? nodes[node].spans : []
    }

    /// Nodes up and not leaving.
    public var liveNodes: [Int] { nodes.indices.filter { nodes[$0].status == .running } }

    /// Every live node (up, not leaving) sees every other live node as alive. O(n^2) lookups.
    public func isConverged() -> Bool {
        let live = liveNodes
        for observer in live {
            guard let instance = instances[observer]?.swim else { return false }
            for other in live where other != observer {
                guard instance.member(NodeNaming.id(of: other))?.state == .alive else { return false }
            }
        }
        return true
    }

    /// Live nodes that do not see `node` in `state` (a quick check for tests: "who has not yet
    /// confirmed the crash?").
    public func liveNodes(notSeeing node: Int, as state: MemberState) -> [Int] {
        let id = NodeNaming.id(of: node)
        return liveNodes.filter { $0 != node && instances[$0]?.swim.member(id)?.state != state }
    }

    // MARK: - Event dispatch

    func handle(_ event: SimulationEvent) {
        switch event {
        case .tick(let node, let life):
            tick(Int(node), life: life)
        case .datagram(let message, let from, let to, let handedLate):
            arrive(message, from: Int(from), to: Int(to), overStream: false, handedLate: handedLate)
        case .stream(let message, let from, let to, let handedLate):
            arrive(message, from: Int(from), to: Int(to), overStream: true, handedLate: handedLate)
        case .action(let action):
            perform(action)
        }
    }

    func tick(_ node: Int, life: UInt32) {
        // Stale ticks (an earlier life, or a deadline that has since moved) are simply ignored.
        guard nodes[node].life == life, nodes[node].status.isUp, nodes[node].scheduledTick == now.nanoseconds else { return }
        nodes[node].scheduledTick = .max
        guard let output = instances[node]?.tick(now: now) else { return }
        apply(output, of: node)
        scheduleTick(node, afterTick: true)
    }

    /// Puts a tick in the queue at the instance's next deadline, unless one at or before it is pending.
    func scheduleTick(_ node: Int, afterTick: Bool = false) {
        guard let deadline = instances[node]?.deadlineInPlace().nanoseconds, deadline != .max else { return }
        var at = max(deadline, now.nanoseconds)
        // An instance that still wants a tick right after one would spin the clock in place.
        if afterTick && at <= now.nanoseconds { at = now.nanoseconds + 1_000 }
        guard at < nodes[node].scheduledTick else { return }
        nodes[node].scheduledTick = at
        queue.push(.tick(node: Int32(node), life: nodes[node].life), at: Instant(nanoseconds: at))
    }

    func record(_ event: MembershipEvent, at node: Int) {
        let record = EventRecord(time: now, node: node, event: event)
        digest.add(record)
        if recordsEvents { records.append(record) }
        onEvent?(record)
    }
}

extension ClusterNode {
    /// `nextDeadline`, read through a mutating access: reading it through `instances[i]?` would copy
    /// the whole instance (retaining every table) on each call, which profiling showed to be a fifth
    /// of the run time; an in-place access borrows it.
    @inline(__always)
    mutating func deadlineInPlace() -> Instant { nextDeadline }

    /// `validate`, read in place for the same reason (every live node validates every round).
    @inline(__always)
    mutating func validateInPlace(feature: String?, unixTime: Int64) -> LicenseCheck { validate(feature: feature, unixTime: unixTime) }
}

/// What the queue holds.
enum SimulationEvent {
    case tick(node: Int32, life: UInt32)
    case datagram(Message, from: Int32, to: Int32, handedLate: Bool)
    case stream(Message, from: Int32, to: Int32, handedLate: Bool)
    case action(FaultAction)
}

/// Scenario steps, expanded from `Fault`s.
enum FaultAction {
    case start(node: Int, bootstrap: Bool)
    case crash(node: Int)
    case restart(node: Int, incarnationFloor: UInt64)
    case leave(node: Int, stopAfter: Duration)
    case stop(node: Int, life: UInt32)
    case partition(faultIndex: Int)
    case heal(faultIndex: Int)
    case slow(node: Int, delay: Int64)
    case checkConvergence
    case licensingRound
    case renewLicense(node: Int)
    case releaseCores(node: Int)
    case checkLiveness
    /// Ledger replicas are compared one anti-entropy period after the cluster settled at `settledAt`.
    case checkReplicas(settledAt: Instant)
    case adversaryMove
    /// The adversary's window ends: the cluster must settle after it like after any fault.
    case adversaryEnd
}

struct CompiledLinkRule {
    var from: [Bool]?
    var to: [Bool]?
    var model: LinkModel

    init(_ rule: LinkRule, nodeCount: Int) {
        func set(_ nodes: [Int]?) -> [Bool]? {
            guard let nodes else { return nil }
            var member = [Bool](repeating: false, count: nodeCount)
            for node in nodes where node >= 0 && node < nodeCount { member[node] = true }
            return member
        }
        from = set(rule.from)
        to = set(rule.to)
        model = LinkModel(rule.conditions)
    }

    func matches(from sender: Int, to receiver: Int) -> Bool {
        (from?[sender] ?? true) && (to?[receiver] ?? true)
    }
}
