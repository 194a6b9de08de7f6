import SWIM
import Licensing

/// Node lives and scenario faults: start, crash, restart, leave, partitions, slowness.
extension Simulator {
    func perform(_ action: FaultAction) {
        noteFault(action)
        switch action {
        case .start(let node, let bootstrap):
            guard nodes[node].status == .absent else { return }
            startLife(of: node, incarnation: 0, bootstrap: bootstrap)
        case .crash(let node):
            guard nodes[node].status.isUp else { return }
            endLife(of: node, status: .crashed)
        case .restart(let node, let floor):
            // Restarting a node that is still up is a crash and an immediate restart.
            if nodes[node].status.isUp { endLife(of: node, status: .crashed) }
            startLife(of: node, incarnation: floor, bootstrap: false)
        case .leave(let node, let stopAfter):
            guard nodes[node].status == .running else { return }
            nodes[node].status = .leaving
            if let last = nodes[node].spans.indices.last { nodes[node].spans[last].leftAt = now }
            if let output = instances[node]?.leave(now: now) {
                apply(output, of: node)
                scheduleTick(node)
            }
            queue.push(.action(.stop(node: node, life: nodes[node].life)), at: now + stopAfter)
        case .stop(let node, let life):
            guard nodes[node].life == life, nodes[node].status == .leaving else { return }
            endLife(of: node, status: .stopped)
        case .partition(let index):
            guard case .partition(let partition, _) = scenario.faults[index].kind else { return }
            partitions.append(ActivePartition(id: index, partition: partition, nodeCount: nodeCount))
            partitionStarted()
        case .heal(let index):
            partitions.removeAll { $0.id == index }
        case .slow(let node, let delay):
            nodes[node].slowDelay = delay
        case .licensingRound:
            licensingRound()
        case .renewLicense(let node):
            renewLicense(of: node)
        case .releaseCores(let node):
            releaseCores(of: node)
        case .checkLiveness:
            checkLivenessIfSettled()
        case .checkReplicas(let settledAt):
            checkReplicasIfStillSettled(since: settledAt)
        case .adversaryMove:
            adversaryMove()
        case .adversaryEnd:
            break
        case .checkConvergence:
            if isConverged() {
                if convergedSince == nil { convergedSince = now }
            } else {
                convergedSince = nil
            }
            if let interval = scenario.convergenceCheckInterval { queue.push(.action(.checkConvergence), at: now + interval) }
        }
    }

    /// A fresh instance: bootstrapped with the converged initial membership, or joining through the seeds.
    func startLife(of node: Int, incarnation: UInt64, bootstrap: Bool) {
        nodes[node].life &+= 1
        let life = nodes[node].life
        let earlier = nodes[node].spans.compactMap(\.finalIncarnation).max()
        let seed = NodeNaming.mix(scenario.seed, UInt64(node) << 20 | UInt64(life))
        let licensing = makeLicensingNode(for: node)
        guard let instance = try? SWIMInstance(id: NodeNaming.id(of: node), address: addresses[node],
                                               metadata: licensing?.advert.metadata ?? scenario.metadata,
                                               settings: scenario.settings, seed: seed, incarnation: incarnation) else {
            return  // cannot happen: the settings were validated with the scenario
        }
        instances[node] = ClusterNode(swim: instance, licensing: licensing)
        nodes[node].status = .running
        nodes[node].scheduledTick = .max
        nodes[node].spans.append(LifeSpan(start: now, earlierLivesIncarnation: earlier))
        if bootstrap {
            if let output = instances[node]?.bootstrap(members: initialMembers(except: node), now: now) {
                apply(output, of: node)
            }
        } else {
            let seeds = seedAddresses.filter { $0 != addresses[node] }
            if let output = instances[node]?.join(seeds: seeds, now: now) {
                apply(output, of: node)
            }
        }
        licensingLifeStarted(node)
        scheduleTick(node)
    }

    func endLife(of node: Int, status: NodeStatus) {
        let incarnation = instances[node]?.swim.myself.incarnation
        licensingLifeEnded(node)
        if let last = nodes[node].spans.indices.last {
            nodes[node].spans[last].end = now
            nodes[node].spans[last].endedByCrash = status == .crashed
            nodes[node].spans[last].finalIncarnation = incarnation
        }
        nodes[node].status = status
        nodes[node].scheduledTick = .max
        instances[node] = nil  // frees its tables; pending events for it find nobody home
    }

    /// The membership a bootstrapped node starts with: every initial node but itself, alive at incarnation 0.
    func initialMembers(except node: Int) -> [Member] {
        var members: [Member] = []
        members.reserveCapacity(nodeCount - 1)
        for other in 0..<nodeCount where other != node && initialNodes[other] {
            members.append(Member(id: NodeNaming.id(of: other), address: addresses[other], incarnation: 0,
                                  state: .alive, metadata: initialMetadata(of: other)))
        }
        return members
    }
}
