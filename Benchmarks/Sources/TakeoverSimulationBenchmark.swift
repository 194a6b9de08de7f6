import Foundation
import SWIM
import Licensing
import Simulation
import AgentHarness

/// Authority takeover in the simulator, over many seeds: the authority crashes while a client acquires
/// in a loop; how long until another authority serves the client, did any validation fail, did any
/// invariant break. Prints figures and writes JSON; asserts nothing about time.
public enum TakeoverSimulationBenchmark {
    public struct Results: Codable, Sendable {
        public var benchmark = "takeover-sim"
        public var date: String
        public var profile: String
        public var nodes: Int
        public var servers: Int
        public var seeds: Int
        public var takeoverSeconds: Percentiles
        public var notServed: Int
        public var failedValidations: Int
        public var validations: Int
        public var invariantViolations: Int
        public var churnRuns: Int
        public var churnInvariantViolations: Int
    }

    public static func run(nodes: Int, servers: Int, seeds: Int, profile: String, resultsDirectory: String,
                           print log: (String) -> Void) throws -> Results {
        guard let settings = Settings.profile(named: profile) else { throw BenchmarkError("unknown profile \(profile)") }
        var times: [Double] = []
        var notServed = 0, failed = 0, validations = 0, violations = 0
        for seed in UInt64(1)...UInt64(seeds) {
            var random = SeededGenerator(seed: seed ^ 0x7A4E)
            var scenario = Scenario(nodeCount: nodes, settings: settings, periods: 40, seed: seed)
            var licensing = LicensingScenario(servers: servers, maxCores: 4 * nodes, coresPerNode: 2)
            licensing.clients = [nodes - 1]
            scenario.licensing = licensing
            let at = settings.probeInterval * 10 + settings.probeInterval.scaled(by: 10 * random.unit())
            scenario.faults = [Fault(at: at, .crash(node: 0))]
            let simulator = try Simulator(scenario)
            simulator.run()
            guard let report = simulator.report(checkConvergence: false).licensing else { continue }
            if let served = report.takeovers.first?.firstServedAfter { times.append(served) } else { notServed += 1 }
            failed += report.failedValidations
            validations += report.validations
            violations += report.invariantViolations
        }
        // Random churn with loss: the safety invariants across many more seeds.
        var churnViolations = 0
        let churnRuns = seeds
        for seed in UInt64(1)...UInt64(churnRuns) {
            var random = SeededGenerator(seed: seed ^ 0xC4)
            var scenario = Scenario(nodeCount: nodes, settings: settings, periods: 60, seed: seed &+ 10_000)
            scenario.network.link.loss = 0.05
            var licensing = LicensingScenario(servers: servers, maxCores: 2 * nodes - 3, coresPerNode: 2)
            licensing.clients = [nodes - 1]
            scenario.licensing = licensing
            for _ in 0..<4 {
                let node = random.below(nodes)
                let at = settings.probeInterval * (5 + random.below(30))
                scenario.faults.append(Fault(at: at, random.chance(0.5) ? .crash(node: node) : .restart(node: node)))
            }
            let simulator = try Simulator(scenario)
            simulator.run()
            churnViolations += simulator.report(checkConvergence: false).licensing?.invariantViolations ?? 0
        }
        let results = Results(date: ISO8601DateFormatter().string(from: Date()), profile: profile, nodes: nodes,
                              servers: servers, seeds: seeds, takeoverSeconds: Percentiles(times), notServed: notServed,
                              failedValidations: failed, validations: validations, invariantViolations: violations,
                              churnRuns: churnRuns, churnInvariantViolations: churnViolations)
        log("takeover in the simulator: \(nodes) nodes, \(servers) servers, profile \(profile), \(seeds) seeds")
        log("  authority crash -> first acquire served by the new authority: \(results.takeoverSeconds.summary())")
        log("  not served before the run ended: \(notServed)")
        log("  validations: \(validations), failed: \(failed); invariant violations: \(violations)")
        log("  churn runs with 5 % loss: \(churnRuns), invariant violations: \(churnViolations)")
        let path = try BenchmarkResults.write(results, name: "bench-takeover-sim.json", directory: resultsDirectory)
        log("  wrote \(path)")
        return results
    }
}

/// Writes benchmark results as pretty JSON into a folder (created if absent).
public enum BenchmarkResults {
    public static func write<T: Encodable>(_ value: T, name: String, directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = (directory as NSString).appendingPathComponent(name)
        try encoder.encode(value).write(to: URL(fileURLWithPath: path))
        return path
    }
}
