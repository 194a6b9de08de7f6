import SWIM
import Licensing

/// The paths around the failover, each as a family of simulated runs: one seed picks the cluster's
/// size, the license, the timings, the sides of a partition and the packet loss. Every run is checked
/// for safety after every event and for liveness once its faults have healed (docs/invariants.md);
/// each ends with every node whose cores fit holding them.
///
///     let result = try ScenarioCatalogue.run(.longPartitionAvailable, seed: 17)
///     if !result.passed { print(result.failureReport) }   // names the scenario and the seed
public enum ScenarioCatalogue {
    public enum Kind: String, CaseIterable, Sendable {
        /// Nodes start one at a time, with gaps longer than the join retry (the first server alone).
        case rollingStart = "rolling-start"
        /// The authority is killed and restarted after its cores were returned (`deadGracePeriod`).
        case lateRestartOfAuthority = "late-restart-authority"
        /// An ordinary node likewise.
        case lateRestartOfNode = "late-restart-node"
        /// Every node killed, then restarted in a random order over up to 40 s.
        case wholeClusterRestart = "whole-cluster-restart"
        /// Partitions shorter and longer than `deadGracePeriod`, under each policy, then healed.
        case shortPartitionMajority = "short-partition-majority"
        case longPartitionMajority = "long-partition-majority"
        case shortPartitionAvailable = "short-partition-available"
        case longPartitionAvailable = "long-partition-available"
        /// More cores wanted than the license allows; then holders release theirs.
        case oversubscription = "oversubscription-then-release"
        /// A renewed license rolled out server by server, with a node restarted midway.
        case renewalRollout = "renewal-rollout"
    }

    /// What one run found.
    public struct Result: Sendable {
        public var kind: Kind
        public var seed: UInt64
        public var hostile: Bool
        public var report: LicensingReport
        public var passed: Bool { report.invariantViolations == 0 && report.livenessChecks > 0 }
        /// The scenario, the seed, and what was violated: a bug report.
        public var failureReport: String {
            let mode = hostile ? " (hostile network)" : ""
            var lines = ["scenario \(kind.rawValue)\(mode) seed \(seed): \(report.invariantViolations) violations in \(report.livenessChecks) liveness checks"]
            if report.livenessChecks == 0 { lines.append("  the run never settled: no liveness check ran") }
            lines += report.violations.map { "  " + $0 }
            lines.append("  reproduce: swift run -c release licmesh-bench catalogue --scenario \(kind.rawValue) --seed \(seed)\(hostile ? " --hostile" : "")")
            return lines.joined(separator: "\n")
        }
    }

    public static func run(_ kind: Kind, seed: UInt64, hostile: Bool = false) throws(ScenarioError) -> Result {
        let simulator = try Simulator(scenario(kind, seed: seed, hostile: hostile))
        simulator.recordsEvents = false
        simulator.run()
        guard let report = simulator.licensingReport() else { throw ScenarioError("the catalogue's scenarios all have a license") }
        return Result(kind: kind, seed: seed, hostile: hostile, report: report)
    }

    /// The scenario a seed makes of a kind. Timings are drawn so that every run ends settled for at
    /// least the liveness bound after its last fault. `hostile` adds an adversary for the whole of the
    /// faults (replays of every kind of message, forgeries with extreme values and forged senders) and
    /// skewed clocks: an ordinary node days off, a server a little off.
    public static func scenario(_ kind: Kind, seed: UInt64, hostile: Bool = false) -> Scenario {
        var random = SeededGenerator(seed: NodeNaming.mix(seed, 0xCA7A_1061 &+ UInt64(Kind.allCases.firstIndex(of: kind)!)))
        let settings = Settings.lan
        let bound = settings.probeInterval * 20
        func seconds(_ low: Double, _ high: Double) -> Duration { .milliseconds(Int64((low + (high - low) * random.unit()) * 1000)) }

        let majority: Bool = switch kind {
        case .shortPartitionMajority, .longPartitionMajority: true
        case .shortPartitionAvailable, .longPartitionAvailable: false
        default: random.chance(0.5)
        }
        let nodeCount = 5 + random.below(4)
        let servers = majority ? 3 : 2
        let cores = 1 + random.below(4)
        // Enough for everyone, except where the scenario is about running out.
        let maxCores = kind == .oversubscription ? cores * (nodeCount - 1 - random.below(2)) : cores * nodeCount + random.below(3)
        var licensing = LicensingScenario(servers: servers, maxCores: maxCores, coresPerNode: cores)
        licensing.settings.policy = majority ? .majority : .available
        licensing.clients = random.chance(0.5) ? [nodeCount - 1] : []
        licensing.clientInterval = .milliseconds(250)
        licensing.validationInterval = .milliseconds(250)
        let grace = licensing.settings.deadGracePeriod

        var faults: [Fault] = []
        var lastFault = Duration.seconds(2)
        var hostileNetwork: Adversary?
        var start = Scenario.StartMode.bootstrapped
        var seedNodes: [Int]?
        switch kind {
        case .rollingStart:
            start = .joining
            // Node 0 starts alone; each next node after a gap longer than the join retry (1 s, doubling).
            var at = Duration.zero
            for node in 1..<nodeCount {
                at += seconds(1.5, 40)
                faults.append(Fault(at: at, .join(node: node)))
            }
            lastFault = at
            // Every node knows the first three as seeds: node 0 waits for them, retrying its join.
            seedNodes = [0, 1, 2]
        case .lateRestartOfAuthority, .lateRestartOfNode:
            let node = kind == .lateRestartOfAuthority ? 0 : servers + random.below(nodeCount - servers)
            let crash = seconds(5, 10)
            let restart = crash + grace + seconds(1, 20)
            faults = [Fault(at: crash, .crash(node: node)), Fault(at: restart, .restart(node: node))]
            lastFault = restart
        case .wholeClusterRestart:
            let crash = seconds(5, 10)
            for node in 0..<nodeCount {
                let down = crash + seconds(0, 1)
                let up = crash + seconds(1, 40)
                faults.append(Fault(at: down, .crash(node: node)))
                faults.append(Fault(at: max(up, down + .milliseconds(100)), .restart(node: node)))
                lastFault = max(lastFault, up)
            }
            seedNodes = Array(0..<nodeCount)
        case .shortPartitionMajority, .longPartitionMajority, .shortPartitionAvailable, .longPartitionAvailable:
            let long = kind == .longPartitionMajority || kind == .longPartitionAvailable
            var side = (0..<nodeCount).filter { _ in random.chance(0.5) }
            if side.isEmpty || side.count == nodeCount { side = [random.below(nodeCount)] }
            if !majority, random.chance(0.7) {
                // Most often split the two servers, the case where both sides keep granting.
                side.removeAll { $0 < servers }
                side.append(random.below(2))
                if side.count == nodeCount - 1, let other = (0..<nodeCount).first(where: { !side.contains($0) && $0 >= servers }) {
                    side.removeAll { $0 == other }
                }
            }
            let begin = seconds(5, 10)
            let end = begin + (long ? grace + seconds(5, 30) : seconds(2, 25))
            faults = [Fault(at: begin, .partition(Partition(side: side.sorted()), until: end))]
            lastFault = end
            seedNodes = Array(0..<nodeCount)
        case .oversubscription:
            licensing.clients = []
            // Two holders give their cores back, one by release and one by leaving.
            let first = seconds(8, 15)
            let second = first + seconds(2, 15)
            let releasing = random.below(nodeCount)
            var leaving = random.below(nodeCount)
            if leaving == releasing { leaving = (leaving + 1) % nodeCount }
            faults = [Fault(at: first, .releaseCores(node: releasing)), Fault(at: second, .leave(node: leaving))]
            lastFault = second + settings.probeInterval * 3
            seedNodes = Array(0..<nodeCount).filter { $0 != leaving }
        case .renewalRollout:
            var at = seconds(5, 10)
            let restarted = random.below(nodeCount)
            for (index, server) in (0..<servers).shuffled(using: &random).enumerated() {
                faults.append(Fault(at: at, .renewLicense(node: server)))
                if index == 0 {
                    // A restart midway: the node comes back while the servers hold a mix.
                    faults.append(Fault(at: at + .seconds(1), .crash(node: restarted)))
                    faults.append(Fault(at: at + .seconds(3), .restart(node: restarted)))
                }
                at += seconds(3, 15)
            }
            for node in servers..<nodeCount { faults.append(Fault(at: at, .renewLicense(node: node))) }
            lastFault = at + .seconds(3)
            seedNodes = Array(0..<nodeCount)
        }

        // Replicas are compared one push-pull interval after the rest has settled.
        let end = lastFault + bound + settings.pushPullInterval + seconds(2, 10)
        let periods = Int((end.seconds / settings.probeInterval.seconds).rounded(.up))
        if hostile {
            var adversary = Adversary(from: .seconds(1), until: lastFault + .seconds(2))
            adversary.replaysPerSecond = 10 + 40 * random.unit()
            adversary.forgeriesPerSecond = 10 + 40 * random.unit()
            hostileNetwork = adversary
            let day = 86_400.0
            if random.chance(0.5) {
                let node = servers + random.below(nodeCount - servers)
                licensing.clockSkews[node] = .seconds(Int64((random.chance(0.5) ? 1 : -1) * (1 + 29 * random.unit()) * day))
            }
            if random.chance(0.5) {
                licensing.clockSkews[random.below(servers)] = .seconds(Int64((random.chance(0.5) ? 1 : -1) * 120 * random.unit()))
            }
        }
        var scenario = Scenario(nodeCount: nodeCount, settings: settings, periods: periods, seed: seed)
        scenario.adversary = hostileNetwork
        scenario.start = start
        scenario.startSpread = start == .joining ? .zero : nil
        scenario.faults = faults
        scenario.seedNodes = seedNodes
        scenario.licensing = licensing
        if random.chance(0.3) { scenario.network.link.loss = 0.01 + 0.02 * random.unit() }
        return scenario
    }
}

extension Array {
    /// A shuffled copy, drawn from a seeded generator (the standard library's takes a different protocol).
    func shuffled(using random: inout SeededGenerator) -> [Element] {
        var copy = self
        guard copy.count > 1 else { return copy }
        for i in stride(from: copy.count - 1, to: 0, by: -1) { copy.swapAt(i, random.below(i + 1)) }
        return copy
    }
}
