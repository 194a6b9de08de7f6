import Dispatch
import Synchronization

/// Joins the configured seeds, resolving DNS names at join time on a thread of its own (lookups
/// block), and again every `retryInterval` until the agent has joined: a Kubernetes headless service
/// gains addresses as pods start. This agent's own addresses are skipped.
///
/// A seed list that resolves to this agent alone founds a new cluster. A seed list that does not
/// resolve at all does not: the lookups are retried, because founding a second cluster next to the
/// real one (which nothing would ever merge) is worse than waiting for DNS.
final class SeedJoiner: Sendable {
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = Mutex(false)

    init(seeds: [SeedAddress], agent: Agent, log: AgentLog, retryInterval: Duration) {
        let own: Set<SocketAddress> = [agent.address, agent.boundAddress]
        let family = agent.boundAddress.family
        guard !seeds.isEmpty else {
            log.log(.info, "founding a new cluster: no seeds configured")
            agent.join(seeds: [])
            return
        }
        _ = IOThread(name: "licmesh-seeds") { [self, weak agent] in
            var joinedWith: Set<SocketAddress> = []
            while !isStopped, let agent, agent.isRunning, !agent.isJoined {
                var addresses: [SocketAddress] = []
                var failures: [String] = []
                for seed in seeds {
                    do {
                        let resolved = try seed.resolve()
                        // A socket of one family cannot reach the other: names often give both.
                        for address in resolved where address.family == family && !own.contains(address) && !addresses.contains(address) {
                            addresses.append(address)
                        }
                    } catch {
                        failures.append("\(error)")
                    }
                }
                if addresses.isEmpty, failures.isEmpty {
                    log.log(.info, "founding a new cluster: every seed is this agent",
                            [LogField("seeds", seeds.map(\.description).joined(separator: ","))])
                    agent.join(seeds: [])
                    return
                }
                if !failures.isEmpty {
                    log.limited("seed-resolve", .warning, "cannot resolve seeds; retrying",
                                [LogField("errors", failures.joined(separator: "; ")),
                                 LogField("fix", "check the seed names and this host's DNS configuration")])
                }
                if !addresses.isEmpty, Set(addresses) != joinedWith {
                    joinedWith = Set(addresses)
                    log.log(.info, "joining through seeds", [LogField("addresses", addresses.map(\.description).joined(separator: ","))])
                    agent.join(seeds: addresses)
                }
                _ = wake.wait(timeout: .now() + .nanoseconds(Int(clamping: retryInterval.nanoseconds)))
            }
        }
    }

    private var isStopped: Bool { stopped.withLock { $0 } }

    /// Stops retrying (a leave or a stop). The thread ends at its next wakeup; a lookup in progress
    /// finishes first.
    func stop() {
        stopped.withLock { $0 = true }
        wake.signal()
    }
}
