#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SWIM
import Simulation
import AgentHarness

/// The protocol at scale, in the simulator (LAN profile, bootstrapped clusters): for each size,
/// crash detection over several crashes (first suspicion, first death, death known everywhere,
/// in protocol periods), traffic per node per period, false accusations at 10 % loss with no
/// crash at all, and the simulator's own speed. Each row stands beside the SWIM paper's
/// expectation: a failure is first detected after e/(e-1) ~ 1.58 periods on average (the wait
/// until some member probes it), and news reaches everyone in O(log N) periods.
public enum ScaleBenchmark {
    /// The paper's expected periods from a failure to its first detection (Das, Gupta, Motivala 2002).
    public static let paperFirstDetectionPeriods = M_E / (M_E - 1)

    public struct Row: Codable, Sendable {
        public var nodes: Int
        /// Crash samples behind the detection figures (crashes over `seeds` runs).
        public var crashes: Int
        public var seeds: Int
        public var periodsPerRun: Int
        /// Crash to the first suspicion anywhere, in periods: mean (compare with the paper) and median.
        public var firstSuspicionMeanPeriods: Double?
        public var firstSuspicionMedianPeriods: Double?
        public var firstSuspicionP90Periods: Double?
        public var firstDeadMedianPeriods: Double?
        /// Crash to the death confirmed by every live member: the periods until every member knows.
        public var deadEverywhereMedianPeriods: Double?
        public var deadEverywhereP90Periods: Double?
        /// Crash until every member has heard of the failure (suspect or dead).
        public var newsEverywhereMedianPeriods: Double?
        /// First suspicion until every member has heard: the dissemination alone.
        public var disseminationMedianPeriods: Double?
        public var disseminationP90Periods: Double?
        public var disseminationMaxPeriods: Double?
        public var undetected: Int
        public var messagesPerNodePerPeriod: Double
        public var bytesPerNodePerPeriod: Double
        /// The 10 % loss run: its length, and accusations of members that were up.
        public var lossPeriods: Int
        public var lossFalseSuspicions: Int
        public var lossFalseDeaths: Int
        public var lossFalselySuspectedMembers: Int
        /// Simulator speed over the detection runs (setup excluded) and the loss run.
        public var setupSeconds: Double
        public var runSeconds: Double
        public var nodePeriodsPerSecond: Double
        public var eventsPerSecond: Double
        public var peakRSSBytes: Int
    }

    public struct Results: Codable, Sendable {
        public var benchmark = "scale"
        public var date: String
        var machine: MachineDescription
        public var paperFirstDetectionPeriods: Double
        public var rows: [Row]
    }

    /// How many runs, crashes and periods each size gets: enough crash samples for a median and a
    /// p90, within a few seconds of simulation per size (10,000 nodes: minutes, for the O(n^2) setup).
    struct Plan {
        var nodes: Int
        var seeds: Int
        var crashesPerRun: Int
        var periods: Int
        var lossPeriods: Int

        static func forSize(_ nodes: Int) -> Plan {
            // The loss run: one simulated hour (7,200 periods of 0.5 s) up to 100 nodes, then about
            // 2 million node-periods.
            let lossPeriods = min(7_200, max(60, 2_000_000 / nodes))
            switch nodes {
            case ..<50: return Plan(nodes: nodes, seeds: 30, crashesPerRun: 1, periods: 60, lossPeriods: lossPeriods)
            case ..<500: return Plan(nodes: nodes, seeds: 10, crashesPerRun: 3, periods: 80, lossPeriods: lossPeriods)
            case ..<5_000: return Plan(nodes: nodes, seeds: 2, crashesPerRun: 15, periods: 100, lossPeriods: lossPeriods)
            default: return Plan(nodes: nodes, seeds: 1, crashesPerRun: 10, periods: 60, lossPeriods: lossPeriods)
            }
        }
    }

    public static func run(sizes: [Int], resultsDirectory: String, print log: (String) -> Void) throws -> Results {
        let machine = MachineDescription.current()
        log("scale benchmark: the simulator, LAN profile (probe interval 0.5 s), bootstrapped clusters")
        log("machine: \(machine.summary)")
        log("paper: first detection after e/(e-1) = \(formatFixed(paperFirstDetectionPeriods, 2)) periods on average; "
            + "dissemination in O(log N) periods")
        var rows: [Row] = []
        for nodes in sizes {
            let plan = Plan.forSize(nodes)
            log("N = \(nodes): \(plan.seeds) run(s) x \(plan.crashesPerRun) crash(es) over \(plan.periods) periods, "
                + "then \(plan.lossPeriods) periods at 10 % loss ...")
            let row = try measure(plan)
            rows.append(row)
            log(describe(row))
        }
        let results = Results(date: ISO8601DateFormatter().string(from: Date()), machine: machine,
                              paperFirstDetectionPeriods: paperFirstDetectionPeriods, rows: rows)
        log("")
        log(table(results))
        let json = try BenchmarkResults.write(results, name: "bench-scale.json", directory: resultsDirectory)
        let svg = (resultsDirectory as NSString).appendingPathComponent("bench-scale.svg")
        try plot(results).write(to: svg)
        log("wrote \(json) and \(svg)")
        return results
    }

    static func measure(_ plan: Plan) throws -> Row {
        let clock = ContinuousClock()
        PeakMemory.reset()
        var detections: [CrashDetection] = []
        var news: [Double] = []      // crash -> every member heard, seconds
        var spreads: [Double] = []   // first suspicion -> every member heard, seconds
        var setup = 0.0, running = 0.0, events: UInt64 = 0, nodePeriods = 0.0
        var messages = 0.0, bytes = 0.0
        for seed in UInt64(1)...UInt64(plan.seeds) {
            var scenario = Scenario(nodeCount: plan.nodes, settings: .lan, periods: plan.periods, seed: seed)
            let period = scenario.settings.probeInterval
            // Crashes in the second fifth to the half of the run: after start-up, and with time left
            // for the news to reach everyone.
            scenario.addRandomCrashes(min(plan.crashesPerRun, plan.nodes - 3), in: period * (plan.periods / 5)..<period * (plan.periods / 2))
            let timing = try simulate(scenario, clock: clock)
            detections += timing.report.detections
            for (detection, heard) in zip(timing.report.detections, timing.newsEverywhere) {
                guard let heard else { continue }
                news.append(heard)
                if let first = detection.firstSuspicion { spreads.append(heard - first) }
            }
            setup += timing.setup
            running += timing.run
            events += timing.report.queueEvents
            nodePeriods += Double(plan.nodes * plan.periods)
            messages += timing.report.messagesPerNodePerPeriod / Double(plan.seeds)
            bytes += timing.report.bytesPerNodePerPeriod / Double(plan.seeds)
        }

        var lossScenario = Scenario(nodeCount: plan.nodes, settings: .lan, periods: plan.lossPeriods, seed: 1_000 + UInt64(plan.nodes))
        lossScenario.network.link.loss = 0.10
        let loss = try simulate(lossScenario, clock: clock)
        setup += loss.setup
        running += loss.run
        events += loss.report.queueEvents
        nodePeriods += Double(plan.nodes * plan.lossPeriods)

        let period = Settings.lan.probeInterval.seconds
        func periods(_ values: [Double]) -> [Double] { values.map { $0 / period } }
        let first = periods(detections.compactMap(\.firstSuspicion))
        let everywhere = periods(detections.compactMap(\.deadEverywhere))
        let firstP = Percentiles(first), everywhereP = Percentiles(everywhere), spreadP = Percentiles(periods(spreads))
        return Row(nodes: plan.nodes, crashes: detections.count, seeds: plan.seeds, periodsPerRun: plan.periods,
                   firstSuspicionMeanPeriods: first.isEmpty ? nil : first.reduce(0, +) / Double(first.count),
                   firstSuspicionMedianPeriods: firstP.p50, firstSuspicionP90Periods: firstP.p90,
                   firstDeadMedianPeriods: Percentiles(periods(detections.compactMap(\.firstDead))).p50,
                   deadEverywhereMedianPeriods: everywhereP.p50, deadEverywhereP90Periods: everywhereP.p90,
                   newsEverywhereMedianPeriods: Percentiles(periods(news)).p50,
                   disseminationMedianPeriods: spreadP.p50, disseminationP90Periods: spreadP.p90, disseminationMaxPeriods: spreadP.max,
                   undetected: detections.filter { $0.deadEverywhere == nil }.count,
                   messagesPerNodePerPeriod: messages, bytesPerNodePerPeriod: bytes,
                   lossPeriods: plan.lossPeriods, lossFalseSuspicions: loss.report.falseSuspicions.accusations,
                   lossFalseDeaths: loss.report.falseDeaths.accusations, lossFalselySuspectedMembers: loss.report.falseSuspicions.members,
                   setupSeconds: setup, runSeconds: running,
                   nodePeriodsPerSecond: running > 0 ? nodePeriods / running : 0,
                   eventsPerSecond: running > 0 ? Double(events) / running : 0, peakRSSBytes: PeakMemory.peakBytes())
    }

    /// MemAvailable from /proc/meminfo in GiB, if readable: 10,000 nodes need about 11 GB.
    public static func availableMemoryGiB() -> Double? {
        guard let text = procText("/proc/meminfo"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
              let kilobytes = Double(line.filter(\.isNumber)) else { return nil }
        return kilobytes / Double(1 << 20)
    }

    private struct Timing {
        var report: SimulationReport
        /// Per crash of `report.detections`: seconds from the crash until every member up at the end
        /// had heard of the failure (suspect or dead); nil if some never did.
        var newsEverywhere: [Double?]
        var setup: Double
        var run: Double
    }

    private static func simulate(_ scenario: Scenario, clock: ContinuousClock) throws -> Timing {
        let begin = clock.now
        let simulator = try Simulator(scenario)
        simulator.run(until: .zero)  // every node starts (bootstraps) at t = 0
        let setUp = clock.now
        simulator.run()
        let end = clock.now
        let report = simulator.report(checkConvergence: false)
        return Timing(report: report, newsEverywhere: newsEverywhere(simulator, report.detections),
                      setup: (setUp - begin).seconds, run: (end - setUp).seconds)
    }

    /// The time for the news of each crash to reach everyone: SWIM's dissemination, measured from
    /// the recorded membership events (the first suspect or dead event about the crashed node at
    /// each member that is up at the end).
    private static func newsEverywhere(_ simulator: Simulator, _ detections: [CrashDetection]) -> [Double?] {
        let live = Set(simulator.liveNodes)
        var heard: [Int: [Int: Double]] = [:]  // crashed node -> member -> first time
        let crashed = Set(detections.map(\.node))
        for record in simulator.records {
            let member: Member
            switch record.event.kind {
            case .suspected(let m, _), .confirmedDead(let m, _): member = m
            default: continue
            }
            guard let node = NodeNaming.node(of: member.id, count: simulator.nodeCount), crashed.contains(node),
                  live.contains(record.node), heard[node]?[record.node] == nil else { continue }
            heard[node, default: [:]][record.node] = record.time.seconds
        }
        return detections.map { detection in
            guard let times = heard[detection.node], times.count == live.count, let last = times.values.max() else { return nil }
            return last - detection.crashedAt
        }
    }

    static func describe(_ row: Row) -> String {
        func p(_ v: Double?) -> String { v.map { formatFixed($0, 2) } ?? "-" }
        return "  first suspicion mean \(p(row.firstSuspicionMeanPeriods)) median \(p(row.firstSuspicionMedianPeriods)) periods; "
            + "all heard \(p(row.newsEverywhereMedianPeriods)); dead everywhere \(p(row.deadEverywhereMedianPeriods)); "
            + "10 % loss: \(row.lossFalseSuspicions) false suspicions, \(row.lossFalseDeaths) false deaths; "
            + "\(formatFixed(row.setupSeconds + row.runSeconds, 1)) s wall"
    }

    static func table(_ results: Results) -> String {
        func p(_ v: Double?) -> String { v.map { formatFixed($0, 2) } ?? "-" }
        var detection = [["N", "crashes", "1st suspicion mean", "(paper)", "median", "p90", "all heard", "spread", "p90", "max",
                          "(O(log N))", "1st dead", "dead everywhere", "p90", "undetected"]]
        for r in results.rows {
            detection.append(["\(r.nodes)", "\(r.crashes)", p(r.firstSuspicionMeanPeriods), p(results.paperFirstDetectionPeriods),
                              p(r.firstSuspicionMedianPeriods), p(r.firstSuspicionP90Periods), p(r.newsEverywhereMedianPeriods),
                              p(r.disseminationMedianPeriods), p(r.disseminationP90Periods), p(r.disseminationMaxPeriods),
                              "ln N = " + formatFixed(log(Double(r.nodes)), 1), p(r.firstDeadMedianPeriods),
                              p(r.deadEverywhereMedianPeriods), p(r.deadEverywhereP90Periods), "\(r.undetected)"])
        }
        var cost = [["N", "msgs/node/period", "bytes/node/period", "B/s per node", "loss periods", "false suspicions", "false deaths",
                     "setup s", "run s", "node-periods/s", "events/s", "peak RSS"]]
        for r in results.rows {
            cost.append(["\(r.nodes)", formatFixed(r.messagesPerNodePerPeriod, 2), formatFixed(r.bytesPerNodePerPeriod, 1),
                         formatFixed(r.bytesPerNodePerPeriod * 2, 1), "\(r.lossPeriods)", "\(r.lossFalseSuspicions)", "\(r.lossFalseDeaths)",
                         formatFixed(r.setupSeconds, 1), formatFixed(r.runSeconds, 1),
                         CodecBenchmark.thousands(r.nodePeriodsPerSecond), CodecBenchmark.thousands(r.eventsPerSecond),
                         "\(r.peakRSSBytes >> 20) MiB"])
        }
        return "Detection in protocol periods (0.5 s) after the crash; paper: 1st detection e/(e-1) = 1.58 on average, "
            + "dissemination O(log N).\n  all heard: every live member has heard suspect or dead; spread: from the first suspicion "
            + "to all heard (dissemination alone); dead everywhere: every live member confirmed the death (medians unless p90/max)\n"
            + TextFormat.table(detection)
            + "\n\nTraffic (plain bytes), false accusations at 10 % loss (distinct accusations of live members), simulator speed *\n"
            + TextFormat.table(cost)
            + "\n  * simulator speed depends on CPU: 2 cores shared with other developers' builds"
    }

    static func plot(_ results: Results) -> SVGChart {
        var chart = SVGChart(title: "Detection and dissemination against cluster size (simulator, LAN profile)",
                             xLabel: "nodes (N, log scale)", yLabel: "protocol periods after the crash", xScale: .log10)
        func points(_ value: (Row) -> Double?) -> [(x: Double, y: Double)] {
            results.rows.compactMap { row in value(row).map { (Double(row.nodes), $0) } }
        }
        let sizes = results.rows.map { Double($0.nodes) }
        chart.series = [
            .init(name: "1st suspicion (mean)", points: points(\.firstSuspicionMeanPeriods)),
            .init(name: "1st dead (median)", points: points(\.firstDeadMedianPeriods)),
            .init(name: "dead everywhere (median)", points: points(\.deadEverywhereMedianPeriods)),
            .init(name: "all heard (median)", points: points(\.newsEverywhereMedianPeriods)),
            .init(name: "spread (median)", points: points(\.disseminationMedianPeriods)),
            .init(name: "paper: e/(e-1)", points: sizes.map { ($0, results.paperFirstDetectionPeriods) }, style: .dashed),
        ]
        if let last = results.rows.last, let everywhere = last.deadEverywhereMedianPeriods {
            // An O(log N) curve through the largest size's dead-everywhere median, for the shape.
            let scale = everywhere / log(Double(last.nodes))
            chart.series.append(.init(name: "c ln N (shape of O(log N))", points: sizes.map { ($0, scale * log($0)) }, style: .dashed))
        }
        chart.note = "\(results.machine.cpuModel); \(results.date)"
        return chart
    }
}
