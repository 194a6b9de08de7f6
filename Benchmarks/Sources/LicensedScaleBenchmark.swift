#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SWIM
import Simulation
import AgentHarness

/// `bench scale --licensed`: what the licensing layer adds to SWIM's traffic at scale, in the
/// simulator (LAN profile, bootstrapped clusters, 3 license servers, every node asking for 2 cores at
/// start: a mass start). For each size, one licensed and one unlicensed run of the same length and
/// seed: bytes per node per second at start-up (the first 60 periods) and at steady state (the last
/// 60), the periods until every replica equals the authority's ledger, the largest push-pull frame,
/// and the simulator's wall time and peak memory.
public enum LicensedScaleBenchmark {
    public struct Row: Codable, Sendable {
        public var nodes: Int
        public var periods: Int
        public var startupBytesPerNodePerSecond: Double
        public var unlicensedStartupBytesPerNodePerSecond: Double
        public var steadyBytesPerNodePerSecond: Double
        public var unlicensedSteadyBytesPerNodePerSecond: Double
        /// The licensed steady state by message type (datagrams and stream frames together), B/s/node.
        public var steadyByKind: [String: Double]
        public var unlicensedSteadyByKind: [String: Double]
        /// Periods from the mass start until every live replica equals the authority's ledger; nil: not within the run.
        public var replicasEqualAfterPeriods: Int?
        public var largestPushPullBytes: Int
        public var unlicensedLargestPushPullBytes: Int
        /// After the authority (node 0) crashes mid-run, over `crashSeeds` runs: the median seconds
        /// until a new authority is established, and the most periods until every live replica
        /// equals its ledger again (nil: some run never got there).
        public var takeoverSeconds: Double?
        public var replicasEqualAfterCrashPeriods: Int?
        public var wallSeconds: Double
        public var unlicensedWallSeconds: Double
        public var peakRSSBytes: Int
    }

    public struct Results: Codable, Sendable {
        public var benchmark = "scale-licensed"
        public var date: String
        public var rows: [Row]
    }

    static let windowPeriods = 60

    public static func run(sizes: [Int], periods: Int, resultsDirectory: String, print log: (String) -> Void) throws -> Results {
        log("licensed scale: the simulator, LAN profile, 3 license servers, every node asks for 2 cores at start; "
            + "\(periods) periods per run; start-up = first \(windowPeriods) periods, steady = last \(windowPeriods)")
        var rows: [Row] = []
        for nodes in sizes {
            let plain = try measure(nodes: nodes, periods: periods, licensed: false)
            let licensed = try measure(nodes: nodes, periods: periods, licensed: true)
            let crashes = try (1...crashSeeds).map { try measureAuthorityCrash(nodes: nodes, seed: $0) }
            let takeovers = crashes.compactMap(\.takeover).sorted()
            let equalAfter = crashes.map(\.replicasEqual)
            let crash = (takeover: takeovers.count == crashes.count ? takeovers[takeovers.count / 2] : nil,
                         replicasEqual: equalAfter.contains(nil) ? nil : equalAfter.compactMap { $0 }.max())
            let row = Row(nodes: nodes, periods: periods,
                          startupBytesPerNodePerSecond: licensed.startup, unlicensedStartupBytesPerNodePerSecond: plain.startup,
                          steadyBytesPerNodePerSecond: licensed.steady, unlicensedSteadyBytesPerNodePerSecond: plain.steady,
                          steadyByKind: licensed.steadyByKind, unlicensedSteadyByKind: plain.steadyByKind,
                          replicasEqualAfterPeriods: licensed.replicasEqual, largestPushPullBytes: licensed.largestPushPull,
                          unlicensedLargestPushPullBytes: plain.largestPushPull,
                          takeoverSeconds: crash.takeover, replicasEqualAfterCrashPeriods: crash.replicasEqual, wallSeconds: licensed.wall,
                          unlicensedWallSeconds: plain.wall, peakRSSBytes: licensed.peakRSS)
            rows.append(row)
            log("  N = \(nodes): start-up \(Int(row.startupBytesPerNodePerSecond)) B/s/node (unlicensed \(Int(row.unlicensedStartupBytesPerNodePerSecond))), "
                + "steady \(Int(row.steadyBytesPerNodePerSecond)) (\(Int(row.unlicensedSteadyBytesPerNodePerSecond))), "
                + "replicas equal after \(row.replicasEqualAfterPeriods.map(String.init) ?? "more than \(periods)") periods, "
                + "largest push-pull \(row.largestPushPullBytes) B (\(row.unlicensedLargestPushPullBytes)), "
                + "authority crash (\(crashSeeds) seeds): taken over in \(row.takeoverSeconds.map { formatFixed($0, 2) + " s" } ?? "not always") (median), "
                + "replicas equal after \(row.replicasEqualAfterCrashPeriods.map(String.init) ?? "more than \(crashRunPeriods - 60)") periods (worst), "
                + "wall \(formatFixed(row.wallSeconds, 1)) s (\(formatFixed(row.unlicensedWallSeconds, 1))), "
                + "peak RSS \(row.peakRSSBytes >> 20) MiB")
            let kinds = MessageKind.allCases.map(\.description).filter { (row.steadyByKind[$0] ?? 0) + (row.unlicensedSteadyByKind[$0] ?? 0) >= 1 }
            log("    steady by type, B/s/node: " + kinds.map { "\($0) \(Int(row.steadyByKind[$0] ?? 0)) (\(Int(row.unlicensedSteadyByKind[$0] ?? 0)))" }
                .joined(separator: ", "))
        }
        let results = Results(date: ISO8601DateFormatter().string(from: Date()), rows: rows)
        let json = try BenchmarkResults.write(results, name: "bench-scale-licensed.json", directory: resultsDirectory)
        let svg = (resultsDirectory as NSString).appendingPathComponent("bench-scale-licensed.svg")
        try plot(results).write(to: svg)
        log("wrote \(json) and \(svg)")
        return results
    }

    private struct Measured {
        var startup: Double
        var steady: Double
        var steadyByKind: [String: Double]
        var replicasEqual: Int?
        var largestPushPull: Int
        var wall: Double
        var peakRSS: Int
    }

    private static func measure(nodes: Int, periods: Int, licensed: Bool) throws -> Measured {
        let clock = ContinuousClock()
        let begin = clock.now
        _ = PeakMemory.reset()
        var scenario = Scenario(nodeCount: nodes, settings: .lan, periods: periods, seed: 1)
        if licensed { scenario.licensing = LicensingScenario(servers: 3, maxCores: 2 * nodes, coresPerNode: 2) }
        let simulator = try Simulator(scenario)
        simulator.recordsEvents = false
        final class Largest: @unchecked Sendable { var bytes = 0 }
        let largest = Largest()
        simulator.onArrival = { message, _, _, _ in
            if message.kind == .pushPullRequest || message.kind == .pushPullResponse { largest.bytes = max(largest.bytes, WireSize.of(message)) }
        }
        let period = scenario.settings.probeInterval
        let window = Double(windowPeriods) * period.seconds * Double(nodes)
        var replicasEqual: Int?
        var startupBytes = 0
        var steadyFrom = 0
        var steadyFromByKind: [MessageKind: Int] = [:]
        func bytesByKind() -> [MessageKind: Int] {
            Dictionary(uniqueKeysWithValues: MessageKind.allCases.map {
                ($0, simulator.traffic.bytes($0, stream: false) + simulator.traffic.bytes($0, stream: true))
            })
        }
        for step in 1...periods {
            simulator.run(until: Instant.zero + period * step)
            if step == windowPeriods { startupBytes = simulator.traffic.totalBytes }
            if step == periods - windowPeriods {
                steadyFrom = simulator.traffic.totalBytes
                steadyFromByKind = bytesByKind()
            }
            if licensed, replicasEqual == nil, simulator.ledgerReplicasAgree { replicasEqual = step }
        }
        let steadyByKind = Dictionary(uniqueKeysWithValues: bytesByKind().map { kind, bytes in
            (kind.description, Double(bytes - (steadyFromByKind[kind] ?? 0)) / window)
        })
        return Measured(startup: Double(startupBytes) / window, steady: Double(simulator.traffic.totalBytes - steadyFrom) / window,
                        steadyByKind: steadyByKind,
                        replicasEqual: replicasEqual, largestPushPull: largest.bytes, wall: (clock.now - begin).seconds,
                        peakRSS: PeakMemory.peakBytes())
    }

    static let crashRunPeriods = 120
    static let crashSeeds: UInt64 = 5

    /// A licensed cluster settles for 60 periods, then its authority (node 0, the lowest server)
    /// crashes: how long until another is established (looked at every 10 ms of virtual time), and
    /// how many periods until every live replica equals the new authority's ledger.
    private static func measureAuthorityCrash(nodes: Int, seed: UInt64) throws -> (takeover: Double?, replicasEqual: Int?) {
        let period = Settings.lan.probeInterval
        let crashAt = period * 60
        var scenario = Scenario(nodeCount: nodes, settings: .lan, periods: crashRunPeriods, seed: seed + 1)
        scenario.licensing = LicensingScenario(servers: 3, maxCores: 2 * nodes, coresPerNode: 2)
        scenario.faults = [Fault(at: crashAt, .crash(node: 0))]
        let simulator = try Simulator(scenario)
        simulator.recordsEvents = false
        simulator.run(until: Instant.zero + crashAt)
        var takeover: Double?
        var at = crashAt
        while takeover == nil, at < crashAt + .seconds(10) {
            at += .milliseconds(10)
            simulator.run(until: Instant.zero + at)
            if simulator.liveNodes.contains(where: { simulator.licensing($0)?.isAuthority == true }) {
                takeover = (at - crashAt).seconds
            }
        }
        for step in 1...(crashRunPeriods - 60) {
            simulator.run(until: Instant.zero + crashAt + period * step)
            if simulator.ledgerReplicasAgree { return (takeover, step) }
        }
        return (takeover, nil)
    }

    static func plot(_ results: Results) -> SVGChart {
        var chart = SVGChart(title: "Bytes per node per second against cluster size (simulator, LAN, 3 license servers)",
                             xLabel: "nodes (N, log scale)", yLabel: "bytes per node per second", xScale: .log10)
        func points(_ value: (Row) -> Double) -> [(x: Double, y: Double)] { results.rows.map { (Double($0.nodes), value($0)) } }
        chart.series = [
            .init(name: "licensed, start-up", points: points(\.startupBytesPerNodePerSecond)),
            .init(name: "licensed, steady", points: points(\.steadyBytesPerNodePerSecond)),
            .init(name: "unlicensed, start-up", points: points(\.unlicensedStartupBytesPerNodePerSecond), style: .dashed),
            .init(name: "unlicensed, steady", points: points(\.unlicensedSteadyBytesPerNodePerSecond), style: .dashed),
        ]
        chart.note = results.date
        return chart
    }
}
