#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SWIM
import AgentHarness

/// Failure detection on real UDP over loopback: one `licmesh agent` process per node (encrypted with
/// a throwaway gossip key), converged, then one SIGKILLed. Per run: kill to the first suspicion at
/// any survivor, to the first confirmed death, to the death confirmed at every survivor; false
/// suspicions of live nodes; with `licensed`, kill of the authority to the first acquire served by
/// the new one and the validations that failed meanwhile (see `LicensedTakeover`).
///
/// The kill is timed with CLOCK_MONOTONIC in this process, the agents stamp their events (`at_ms`)
/// with CLOCK_MONOTONIC in theirs: one clock per host, so the differences are exact to the
/// millisecond. Each run checks it: every agent's `started` stamp must fall between the spawn and
/// the reading of its line.
public enum DetectionBenchmark {
    public enum Victim: String, Codable, Sendable { case random, authority }

    public struct Options: Codable, Sendable {
        public var nodes: Int
        public var runs: Int
        public var profile: String
        public var victim: Victim
        public var licensed: Bool
        /// Seconds between convergence and the kill: past the joins' push-pulls, into steady probing.
        public var settleSeconds: Double
        /// Seconds to wait after the kill for every survivor to confirm the death.
        public var detectionTimeoutSeconds: Double
        public var seed: UInt64
        public var executable: String
        public init(nodes: Int, runs: Int, profile: String, victim: Victim, licensed: Bool, settleSeconds: Double,
                    detectionTimeoutSeconds: Double, seed: UInt64, executable: String) {
            self.nodes = nodes; self.runs = runs; self.profile = profile; self.victim = victim; self.licensed = licensed
            self.settleSeconds = settleSeconds; self.detectionTimeoutSeconds = detectionTimeoutSeconds; self.seed = seed
            self.executable = executable
        }
    }

    public struct Run: Codable, Sendable {
        public var run: Int
        public var victim: String
        public var convergenceSeconds: Double
        public var firstSuspicionSeconds: Double?
        public var firstDeadSeconds: Double?
        /// Nil when some survivor had not confirmed the death before the timeout.
        public var deadEverywhereSeconds: Double?
        public var survivors: Int
        public var survivorsConfirmed: Int
        /// Suspicion lines, at any agent after convergence, about a member that was alive then.
        public var falseSuspicions: Int
        public var falselySuspectedMembers: Int
        public var falseDeaths: Int
        /// Largest disagreement seen between this process's clock and the agents' (ms; 0 = agree).
        public var clockDisagreementMilliseconds: Double
        var licensed: LicensedTakeover.RunFigures?
    }

    public struct Results: Codable, Sendable {
        public var benchmark = "detection"
        public var date: String
        var machine: MachineDescription
        public var options: Options
        public var runs: [Run]
        public var firstSuspicion: Percentiles
        public var firstDead: Percentiles
        public var deadEverywhere: Percentiles
        public var takeover: Percentiles?
        public var falseSuspicions: Int
        public var falseDeaths: Int
        public var validationsAttempted: Int?
        public var validationsFailed: Int?
    }

    public static func run(_ options: Options, resultsDirectory: String, print log: (String) -> Void) throws -> Results {
        ChildProcesses.installInterruptHandlers()
        if options.licensed { try LicensedTakeover.requireAgentLicenseFlags(executable: options.executable) }
        let machine = MachineDescription.current()
        log("detection benchmark: \(options.nodes) agents on loopback, profile \(options.profile), "
            + "\(options.runs) runs, kill \(options.victim.rawValue)\(options.licensed ? ", licensed" : ""), encrypted")
        log("machine: \(machine.summary)")
        log("  (timings depend on CPU: the machine's cores are shared with other developers' builds)")

        var licenseFolder: String?
        defer { if let licenseFolder { ChildProcesses.removeFolder(licenseFolder) } }
        var materials: LicensedTakeover.Materials?
        if options.licensed {
            let folder = try ChildProcesses.makeTemporaryFolder(prefix: "licmesh-bench-license")
            licenseFolder = folder
            materials = try LicensedTakeover.Materials(nodes: options.nodes, servers: min(3, options.nodes - 1),
                                                        coresPerNode: 2, folder: folder)
        }

        var random = SeededGenerator(seed: options.seed)
        var runs: [Run] = []
        for index in 0..<options.runs {
            // Fresh IDs each run, so that a straggling packet of the previous cluster is never taken for this one's.
            let firstID = UInt64(0xD000 + index * 0x1000)
            let victimIndex = options.victim == .authority ? 0 : random.below(options.nodes)
            let one = try measureOneRun(index: index, firstID: firstID, victimIndex: victimIndex, options: options, materials: materials)
            runs.append(one)
            log(describe(one))
        }

        let results = summarize(runs, options: options, machine: machine)
        log("")
        log(table(results))
        let name = "bench-detection-n\(options.nodes)-\(options.profile)" + (options.victim == .authority ? "-authority" : "")
            + (options.licensed ? "-licensed" : "")
        let json = try BenchmarkResults.write(results, name: name + ".json", directory: resultsDirectory)
        let svg = (resultsDirectory as NSString).appendingPathComponent(name + ".svg")
        try plot(results).write(to: svg)
        log("wrote \(json) and \(svg)")
        return results
    }

    private static func measureOneRun(index: Int, firstID: UInt64, victimIndex: Int, options: Options,
                                      materials: LicensedTakeover.Materials?) throws -> Run {
        var launch = AgentLaunch(executable: options.executable, profile: options.profile, plain: false)
        var clientPort: UInt16?
        if let materials {
            for i in 0..<options.nodes {
                let id = firstID + UInt64(i)
                let port = try LoopbackHTTPClient.freePort()
                launch.perAgentArguments[id] = try materials.arguments(index: i, id: id, httpPort: port)
                if i == options.nodes - 1 { clientPort = port }
            }
        }
        let cluster = try AgentCluster(count: options.nodes, firstID: firstID, launch: launch)
        defer { cluster.stop() }
        sleepSeconds(options.settleSeconds)

        var client: LicensedTakeover.ClientLoop?
        defer { client?.stop() }
        var victim = cluster.agents[victimIndex]
        if let clientPort {
            let loop = LicensedTakeover.ClientLoop(port: clientPort, cores: 2)
            client = loop
            let authority = try LicensedTakeover.waitForFirstGrant(client: loop, timeout: 30)
            if options.victim == .authority, let holder = cluster.agents.first(where: { $0.id == authority }) { victim = holder }
        }
        let survivors = cluster.agents.filter { $0.id != victim.id }

        let killedAt = MonotonicSeconds.milliseconds()
        victim.process.signal(SIGKILL)
        victim.process.waitForExit(timeout: 10)
        _ = waitUntil(timeout: options.detectionTimeoutSeconds, step: 5_000) {
            survivors.allSatisfy { !$0.events("dead", member: victim.id).isEmpty }
        }
        let licensedFigures = client.map {
            LicensedTakeover.measureLicensedTakeover(client: $0, victim: victim.id, killedAtMilliseconds: killedAt,
                                                     timeout: options.detectionTimeoutSeconds)
        }

        // Stamps are whole milliseconds rounded down: an event in the kill's millisecond counts as after it.
        let afterKill = killedAt.rounded(.down)
        let suspicions = survivors.flatMap { $0.events("suspected", member: victim.id) }.filter { $0.atMilliseconds >= afterKill }
        let deaths = survivors.compactMap { $0.events("dead", member: victim.id).first { $0.atMilliseconds >= afterKill } }
        let firstDead = deaths.map(\.atMilliseconds).min()
        // A death heard before any suspicion is also the first detection (as the simulator counts it).
        let firstDetection = (suspicions.map(\.atMilliseconds) + [firstDead].compactMap { $0 }).min()

        // False accusations: of members alive at the time, from convergence to the end of the run.
        let since = cluster.convergedAtMilliseconds.rounded(.down)
        func isFalse(_ event: AgentEvent) -> Bool {
            event.atMilliseconds >= since && (event.member != victim.id || event.atMilliseconds < afterKill)
        }
        let falseSuspicions = cluster.agents.flatMap { $0.events("suspected") }.filter(isFalse)
        let falseDeaths = cluster.agents.flatMap { $0.events("dead") }.filter(isFalse)
        func seconds(_ stamp: Double?) -> Double? { stamp.map { ($0 - killedAt) / 1000 } }

        return Run(run: index + 1, victim: victim.idText, convergenceSeconds: cluster.convergenceSeconds,
                   firstSuspicionSeconds: seconds(firstDetection), firstDeadSeconds: seconds(firstDead),
                   deadEverywhereSeconds: deaths.count == survivors.count ? seconds(deaths.map(\.atMilliseconds).max()) : nil,
                   survivors: survivors.count, survivorsConfirmed: deaths.count,
                   falseSuspicions: falseSuspicions.count, falselySuspectedMembers: Set(falseSuspicions.compactMap(\.member)).count,
                   falseDeaths: falseDeaths.count, clockDisagreementMilliseconds: cluster.clockDisagreementMilliseconds().max() ?? 0,
                   licensed: licensedFigures)
    }

    static func summarize(_ runs: [Run], options: Options, machine: MachineDescription) -> Results {
        let licensed = runs.compactMap(\.licensed)
        return Results(date: ISO8601DateFormatter().string(from: Date()), machine: machine, options: options, runs: runs,
                       firstSuspicion: Percentiles(runs.compactMap(\.firstSuspicionSeconds)),
                       firstDead: Percentiles(runs.compactMap(\.firstDeadSeconds)),
                       deadEverywhere: Percentiles(runs.compactMap(\.deadEverywhereSeconds)),
                       takeover: licensed.isEmpty ? nil : Percentiles(licensed.compactMap(\.takeoverSeconds)),
                       falseSuspicions: runs.map(\.falseSuspicions).reduce(0, +), falseDeaths: runs.map(\.falseDeaths).reduce(0, +),
                       validationsAttempted: licensed.isEmpty ? nil : licensed.map(\.validationsAttempted).reduce(0, +),
                       validationsFailed: licensed.isEmpty ? nil : licensed.map(\.validationsFailed).reduce(0, +))
    }

    static func describe(_ run: Run) -> String {
        func ms(_ s: Double?) -> String { s.map { TextFormat.pad("\(Int(($0 * 1000).rounded()))", 5, right: true) + " ms" } ?? "    - ms" }
        var line = "run \(TextFormat.pad("\(run.run)", 2, right: true)): killed \(run.victim)  first suspicion \(ms(run.firstSuspicionSeconds))"
            + "  first dead \(ms(run.firstDeadSeconds))  dead everywhere \(ms(run.deadEverywhereSeconds))"
            + " (\(run.survivorsConfirmed)/\(run.survivors))  false suspicions \(run.falseSuspicions)"
            + "  converged in \(formatFixed(run.convergenceSeconds, 1)) s"
        if let licensed = run.licensed {
            line += "  takeover \(ms(licensed.takeoverSeconds)), validations \(licensed.validationsAttempted) (failed \(licensed.validationsFailed))"
        }
        if run.clockDisagreementMilliseconds > 0 { line += "  CLOCKS DISAGREE by \(run.clockDisagreementMilliseconds) ms" }
        return line
    }

    static func table(_ results: Results) -> String {
        let runs = results.runs.count
        var rows = [["", "runs", "p50", "p90", "p99", "max"]]
        func row(_ name: String, _ p: Percentiles) -> [String] {
            func s(_ v: Double?) -> String { v.map { formatFixed($0, 3) + " s" } ?? "-" }
            return [name, "\(p.count)/\(runs)", s(p.p50), s(p.p90), s(p.p99), s(p.max)]
        }
        rows.append(row("kill -> first suspicion (any survivor)", results.firstSuspicion))
        rows.append(row("kill -> first confirmed dead", results.firstDead))
        rows.append(row("kill -> dead at every survivor", results.deadEverywhere))
        if let takeover = results.takeover { rows.append(row("kill -> first acquire by the new authority", takeover)) }
        var out = "\(results.options.nodes) agents, profile \(results.options.profile), \(runs) runs "
            + "(nearest rank: p99 of fewer than 100 runs is the max)\n"
        out += TextFormat.table(rows) + "\n"
        out += "  false suspicions of live nodes: \(results.falseSuspicions) (lines at any agent, all runs); "
            + "false dead declarations: \(results.falseDeaths)\n"
        if let attempted = results.validationsAttempted, let failed = results.validationsFailed {
            out += "  validations between kill and takeover: \(attempted), failed: \(failed)\n"
        }
        let worst = results.runs.map(\.clockDisagreementMilliseconds).max() ?? 0
        out += "  clock check: every agent's started at_ms lies within [spawn, read] on this process's CLOCK_MONOTONIC: "
            + (worst == 0 ? "yes (the clocks agree)" : "NO, off by up to \(worst) ms")
        return out
    }

    static func plot(_ results: Results) -> SVGChart {
        var chart = SVGChart(title: "Failure detection: \(results.options.nodes) agents on loopback (profile \(results.options.profile))",
                             xLabel: "seconds after SIGKILL", yLabel: "fraction of runs")
        chart.series = [
            .init(name: "first suspicion", points: SVGChart.cdf(results.runs.compactMap(\.firstSuspicionSeconds)), style: .steps),
            .init(name: "first dead", points: SVGChart.cdf(results.runs.compactMap(\.firstDeadSeconds)), style: .steps),
            .init(name: "dead everywhere", points: SVGChart.cdf(results.runs.compactMap(\.deadEverywhereSeconds)), style: .steps),
        ]
        let takeovers = results.runs.compactMap { $0.licensed?.takeoverSeconds }
        if !takeovers.isEmpty { chart.series.append(.init(name: "takeover (acquire)", points: SVGChart.cdf(takeovers), style: .steps)) }
        chart.yRange = 0...1
        chart.note = "\(results.runs.count) runs, kill \(results.options.victim.rawValue); \(results.machine.cpuModel), "
            + "\(results.machine.onlineCores) shared cores; \(results.date)"
        return chart
    }
}
