import Foundation
import SWIM
import Simulation

/// How fast the simulator runs whole clusters: the figures behind "1,000 nodes x 300 periods in a few
/// seconds, 10,000 nodes in minutes". Prints and records figures; asserts nothing about time.
public enum SimulatorBenchmark {
    public struct Case: Codable, Sendable {
        public var nodes: Int
        public var periods: Int
        public var seed: UInt64
        public var crashes: Int
        /// Wall seconds to create and bootstrap every instance (O(n^2): each node learns n members).
        public var setupSeconds: Double
        /// Wall seconds to run the periods after setup.
        public var runSeconds: Double
        public var queueEvents: UInt64
        public var eventsPerSecond: Double
        /// Protocol periods of the whole cluster simulated per wall second.
        public var periodsPerSecond: Double
        /// Node-periods (one node's one probe interval) per wall second.
        public var nodePeriodsPerSecond: Double
        public var datagramsSent: Int
        public var peakRSSBytes: Int
        public var medianFirstSuspicionPeriods: Double?
        public var traceDigest: String
    }

    public struct Results: Codable, Sendable {
        public var benchmark = "simulator"
        public var date: String
        public var build: String
        public var cases: [Case]
    }

    /// One cluster: bootstrapped (converged) start, LAN settings, `crashes` random crashes.
    public static func measure(nodes: Int, periods: Int, seed: UInt64, crashes: Int = 1) throws -> Case {
        var scenario = Scenario(nodeCount: nodes, settings: .lan, periods: periods, seed: seed)
        scenario.addRandomCrashes(min(crashes, nodes - 1),
                                  in: scenario.settings.probeInterval * min(10, periods / 4)..<scenario.settings.probeInterval * max(1, periods / 2))
        PeakMemory.reset()
        let clock = ContinuousClock()
        let begin = clock.now
        let simulator = try Simulator(scenario)
        simulator.run(until: .zero)  // every node starts (bootstraps) at t = 0
        let setUp = clock.now
        simulator.run()
        let end = clock.now
        let peak = PeakMemory.peakBytes()
        let runSeconds = (end - setUp).seconds
        let report = simulator.report(checkConvergence: false)
        return Case(nodes: nodes, periods: periods, seed: seed, crashes: crashes,
                    setupSeconds: (setUp - begin).seconds, runSeconds: runSeconds,
                    queueEvents: simulator.eventsProcessed,
                    eventsPerSecond: runSeconds > 0 ? Double(simulator.eventsProcessed) / runSeconds : 0,
                    periodsPerSecond: runSeconds > 0 ? Double(periods) / runSeconds : 0,
                    nodePeriodsPerSecond: runSeconds > 0 ? Double(periods * nodes) / runSeconds : 0,
                    datagramsSent: simulator.network.datagramsSent, peakRSSBytes: peak,
                    medianFirstSuspicionPeriods: report.firstSuspicion.medianPeriods,
                    traceDigest: report.traceDigest)
    }

    /// Runs each (nodes, periods) case in turn, printing figures as they come, and writes the results
    /// as JSON into `resultsDirectory`. Returns the file written.
    public static func run(cases: [(nodes: Int, periods: Int)], seed: UInt64, resultsDirectory: String,
                           print log: (String) -> Void) throws -> String {
        var measured: [Case] = []
        log("simulator benchmark: bootstrapped clusters, LAN profile, 1 crash, seed \(seed)")
        log(pad("nodes", 7) + pad("periods", 9) + pad("setup s", 10) + pad("run s", 10) + pad("events/s", 12)
            + pad("periods/s", 11) + pad("node-periods/s", 16) + pad("peak RSS", 11) + "first suspicion")
        for (nodes, periods) in cases {
            let c = try measure(nodes: nodes, periods: periods, seed: seed)
            measured.append(c)
            log(pad("\(c.nodes)", 7) + pad("\(c.periods)", 9) + pad(SimulationReport.fixed(c.setupSeconds, 2), 10)
                + pad(SimulationReport.fixed(c.runSeconds, 2), 10) + pad(SimulationReport.fixed(c.eventsPerSecond / 1e6, 2) + " M", 12)
                + pad(SimulationReport.fixed(c.periodsPerSecond, 1), 11) + pad(SimulationReport.fixed(c.nodePeriodsPerSecond / 1e3, 1) + " k", 16)
                + pad("\(c.peakRSSBytes / (1 << 20)) MiB", 11)
                + (c.medianFirstSuspicionPeriods.map { SimulationReport.fixed($0, 2) + " periods" } ?? "-"))
        }
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        let results = Results(date: ISO8601DateFormatter().string(from: Date()), build: build, cases: measured)
        try FileManager.default.createDirectory(atPath: resultsDirectory, withIntermediateDirectories: true)
        let path = (resultsDirectory as NSString).appendingPathComponent("bench-sim.json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: URL(fileURLWithPath: path))
        log("wrote \(path)")
        return path
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
