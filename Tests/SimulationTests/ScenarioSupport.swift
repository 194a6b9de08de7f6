import SWIM
import Simulation
#if canImport(Glibc)
import Glibc
#endif

extension Simulator {
    /// Runs one probe interval at a time until the cluster is converged or `limit` has passed;
    /// returns the time of convergence.
    func runUntilConverged(within limit: Duration) -> Instant? {
        let deadline = now + limit
        let step = scenario.settings.probeInterval
        while now < deadline {
            run(for: step)
            if isConverged() { return now }
        }
        return nil
    }

    /// Suspicion and death records about a node.
    func accusations(of node: Int) -> [EventRecord] {
        records.filter { record in
            switch record.event.kind {
            case .suspected, .confirmedDead: record.event.memberID == NodeNaming.id(of: node)
            default: false
            }
        }
    }
}

/// The longest suspicion timeout of a cluster of `n` (Lifeguard starts there without confirmations).
func maximumSuspicionTimeout(_ settings: Settings, clusterSize n: Int) -> Duration {
    let scale = max(1, log10(Double(n)))
    return settings.probeInterval.scaled(by: settings.suspicionMultiplier * scale * settings.suspicionMaxMultiplier)
}

