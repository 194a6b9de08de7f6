import Foundation
import Synchronization
import AgentHarness

/// Throughput and latency of the license calls on real agents: acquire, release and validate through
/// the HTTP API of the authority and of a replica (an ordinary node, whose acquires travel to the
/// authority). Each acquire is a real ledger change (it alternates with a release), committed to a
/// majority of the license servers before it is answered. Prints figures and writes JSON.
public enum AuthorityBenchmark {
    public struct Row: Codable, Sendable {
        public var at: String          // "authority" or "replica"
        public var call: String        // "acquire+release" or "validate"
        public var clients: Int
        public var calls: Int
        public var callsPerSecond: Double
        public var latencyMilliseconds: Percentiles
        public var failures: Int
    }

    public struct Results: Codable, Sendable {
        public var benchmark = "authority"
        public var date: String
        public var nodes: Int
        public var seconds: Double
        public var rows: [Row]
    }

    public static func run(nodes: Int, seconds: Double, clients: Int, profile: String, resultsDirectory: String,
                           print log: (String) -> Void) throws -> Results {
        ChildProcesses.installInterruptHandlers()
        let executable = AgentBinary.licmesh()
        try LicensedTakeover.requireAgentLicenseFlags(executable: executable)
        let folder = try ChildProcesses.makeTemporaryFolder(prefix: "licmesh-bench-authority")
        defer { ChildProcesses.removeFolder(folder) }
        let materials = try LicensedTakeover.Materials(nodes: nodes, servers: 3, coresPerNode: 1, folder: folder)
        let firstID: UInt64 = 0xA001
        let (ports, perAgent) = try materials.agentArguments(firstID: firstID)
        let cluster = try AgentCluster(count: nodes, firstID: firstID,
                                       launch: AgentLaunch(executable: executable, profile: profile, plain: false,
                                                           cluster: "bench-authority", perAgentArguments: perAgent), timeout: 60)
        defer { cluster.stop(grace: 0) }
        // Every node holds its core before the measurement.
        _ = waitUntil(timeout: 30) { cluster.agents.allSatisfy { !$0.events("holding").isEmpty } }

        log("authority benchmark: \(nodes) agents on loopback, profile \(profile), \(formatFixed(seconds, 1)) s per row; "
            + "validate on \(clients) client threads, acquire+release on one (a node has one grant)")
        log("  (latencies depend on CPU: 2 cores shared with other work)")
        var rows: [Row] = []
        for (at, index) in [("authority", 0), ("replica", nodes - 1)] {
            // Validations first, while the node holds its core. Acquire and release run on one thread: a
            // node has one grant, and concurrent requests for it replace each other.
            for call in ["validate", "acquire+release"] {
                let row = measure(port: ports[index], call: call, clients: call == "validate" ? clients : 1, seconds: seconds, at: at)
                rows.append(row)
                log("  " + at.padding(toLength: 10, withPad: " ", startingAt: 0) + call.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + formatFixed(row.callsPerSecond, 0).leftPadded(to: 7) + " calls/s   latency ms "
                    + "p50 " + formatFixed(row.latencyMilliseconds.p50 ?? 0, 2) + "  p99 " + formatFixed(row.latencyMilliseconds.p99 ?? 0, 2)
                    + "  max " + formatFixed(row.latencyMilliseconds.max ?? 0, 2) + "   failures \(row.failures)")
                if call == "acquire+release" {
                    // Leave the node holding its core again for the next row.
                    _ = try? LoopbackHTTPClient(port: ports[index], timeoutSeconds: 5).send("POST", "/v1/acquire", json: "{\"cores\":1}")
                }
            }
        }
        let results = Results(date: ISO8601DateFormatter().string(from: Date()), nodes: nodes, seconds: seconds, rows: rows)
        let path = try BenchmarkResults.write(results, name: "bench-authority.json", directory: resultsDirectory)
        log("  wrote \(path)")
        return results
    }

    /// `clients` threads calling for `seconds`; an acquire+release call is one acquire of 1 core
    /// (a new grant, since the previous call released it) and one release, each timed on its own.
    static func measure(port: UInt16, call: String, clients: Int, seconds: Double, at: String) -> Row {
        final class Collected: Sendable {
            let latencies = Mutex<[Double]>([])
            let failures = Atomic<Int>(0)
            let done = Atomic<Int>(0)
        }
        let collected = Collected()
        let end = MonotonicSeconds.milliseconds() + seconds * 1000
        for _ in 0..<clients {
            let client = LoopbackHTTPClient(port: port, timeoutSeconds: 5)
            Thread {
                var local: [Double] = []
                while MonotonicSeconds.milliseconds() < end {
                    let requests: [(String, String, (([String: Any]) -> Bool))] = call == "validate"
                        ? [("/v1/validate", "{}", { $0["allowed"] as? Bool == true })]
                        : [("/v1/acquire", "{\"cores\":1}", { $0["outcome"] as? String == "granted" }),
                           ("/v1/release", "{}", { $0["outcome"] as? String == "released" })]
                    for (path, body, ok) in requests {
                        let sent = MonotonicSeconds.milliseconds()
                        let answer = try? client.send("POST", path, json: body)
                        local.append(MonotonicSeconds.milliseconds() - sent)
                        if !(answer?.json.map(ok) ?? false) { collected.failures.add(1, ordering: .relaxed) }
                    }
                }
                let finished = local
                collected.latencies.withLock { $0 += finished }
                collected.done.add(1, ordering: .relaxed)
            }.start()
        }
        _ = waitUntil(timeout: seconds + 30) { collected.done.load(ordering: .relaxed) == clients }
        let latencies = collected.latencies.withLock { $0 }
        return Row(at: at, call: call, clients: clients, calls: latencies.count,
                   callsPerSecond: Double(latencies.count) / seconds, latencyMilliseconds: Percentiles(latencies),
                   failures: collected.failures.load(ordering: .relaxed))
    }
}
