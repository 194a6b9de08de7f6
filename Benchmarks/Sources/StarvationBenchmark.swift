import Foundation
import AgentHarness

/// One agent CPU-starved: N agents converge, one (not the seed) gets SIGSTOP for a few seconds, then
/// SIGCONT. Per run: did any agent declare a healthy member dead (the target: never), was the starved
/// one suspected or declared dead (expected: it could not answer), and is it alive everywhere again
/// afterwards (it refutes). Prints figures and writes JSON; asserts nothing.
public enum StarvationBenchmark {
    public struct Run: Codable, Sendable {
        public var run: Int
        public var stopped: String
        public var healthyDeclaredDead: Int
        public var healthySuspected: Int
        public var stoppedSuspectedBy: Int
        public var stoppedDeclaredDeadBy: Int
        public var aliveEverywhereAfter: Bool
    }

    public struct Results: Codable, Sendable {
        public var benchmark = "starvation"
        public var date: String
        public var nodes: Int
        public var stopSeconds: Double
        public var profile: String
        public var runs: [Run]
    }

    public static func run(nodes: Int, runs: Int, stopSeconds: Double, profile: String, resultsDirectory: String,
                           print log: (String) -> Void) throws -> Results {
        ChildProcesses.installInterruptHandlers()
        let executable = AgentBinary.licmesh()
        log("starvation benchmark: \(nodes) agents on loopback, profile \(profile), SIGSTOP one for \(formatFixed(stopSeconds, 1)) s, \(runs) runs")
        var measured: [Run] = []
        for index in 0..<runs {
            let cluster = try AgentCluster(count: nodes, firstID: 0xB001 + UInt64(index) << 8,
                                           launch: AgentLaunch(executable: executable, profile: profile, plain: false, cluster: "bench-starve"))
            defer { cluster.stop() }
            usleep(3_000_000)   // past the joins, into steady probing
            let stopped = cluster.agents[1 + index % (nodes - 1)]
            let since = MonotonicSeconds.milliseconds().rounded(.down)
            stopped.process.signal(SIGSTOP)
            usleep(UInt32(stopSeconds * 1_000_000))
            stopped.process.signal(SIGCONT)
            // Long enough for a refutation to spread and any late declaration to show.
            let others = cluster.agents.filter { $0.id != stopped.id }
            let healed = waitUntil(timeout: 20) {
                others.allSatisfy { agent in
                    let events = agent.events("dead", member: stopped.id) + agent.events("suspected", member: stopped.id)
                        + agent.events("joined", member: stopped.id) + agent.events("refuted", member: stopped.id)
                    guard let last = events.filter({ $0.atMilliseconds >= since }).max(by: { $0.atMilliseconds < $1.atMilliseconds }) else { return true }
                    return last.name == "joined" || last.name == "refuted"
                }
            }
            usleep(2_000_000)
            func after(_ events: [AgentEvent]) -> [AgentEvent] { events.filter { $0.atMilliseconds >= since } }
            let healthyDead = cluster.agents.flatMap { after($0.events("dead")) }.filter { $0.member != stopped.id }
            let healthySuspected = cluster.agents.flatMap { after($0.events("suspected")) }.filter { $0.member != stopped.id }
            let run = Run(run: index + 1, stopped: stopped.idText, healthyDeclaredDead: healthyDead.count,
                          healthySuspected: healthySuspected.count,
                          stoppedSuspectedBy: others.filter { !after($0.events("suspected", member: stopped.id)).isEmpty }.count,
                          stoppedDeclaredDeadBy: others.filter { !after($0.events("dead", member: stopped.id)).isEmpty }.count,
                          aliveEverywhereAfter: healed)
            measured.append(run)
            log("run \(run.run): stopped \(run.stopped) for \(formatFixed(stopSeconds, 1)) s; suspected by \(run.stoppedSuspectedBy), "
                + "declared dead by \(run.stoppedDeclaredDeadBy) of \(nodes - 1); alive everywhere afterwards: \(healed ? "yes" : "no"); "
                + "healthy members suspected \(run.healthySuspected) times, declared dead \(run.healthyDeclaredDead) times")
        }
        let total = measured.reduce(0) { $0 + $1.healthyDeclaredDead }
        log("healthy members declared dead, all runs: \(total)")
        let results = Results(date: ISO8601DateFormatter().string(from: Date()), nodes: nodes, stopSeconds: stopSeconds,
                              profile: profile, runs: measured)
        log("wrote " + (try BenchmarkResults.write(results, name: "bench-starvation-n\(nodes).json", directory: resultsDirectory)))
        return results
    }
}
