#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SWIM
import Simulation
import Licensing
import ArgumentParsing

/// `licmesh simulate`: one deterministic run of a whole cluster, with failure-detection figures.
let simulateCommand = Command(
    name: "simulate",
    summary: "Run a whole cluster in the deterministic simulator and print detection figures.",
    options: [
        .value("--nodes", "N", "Cluster size (default 100)."),
        .value("--periods", "P", "Run length in protocol periods, i.e. probe intervals (default 300)."),
        .value("--crash", "K", "Crash K random nodes at random times between period 10 and half the run (default 0)."),
        .value("--loss", "P", "Datagram loss probability, 0...1 (default 0)."),
        .value("--duplicate", "P", "Datagram duplication probability, 0...1 (default 0)."),
        .value("--reorder", "P", "Probability a datagram is held back 2 ms extra, 0...1 (default 0)."),
        .value("--latency", "MS", "One-way link latency in milliseconds (default 0.5)."),
        .value("--jitter", "MS", "Latency jitter, +/- milliseconds (default 0.2)."),
        .value("--seed", "S", "Run seed: the same seed replays the same run (default 1)."),
        .value("--profile", "NAME", "Protocol settings: lan (default), wan or local."),
        .value("--start", "MODE", "bootstrap (default: every node starts with the full member list) or join (through 3 seeds)."),
        .value("--partition", "SPEC", "Two-way cut, A|B@FROM-UNTIL in periods, e.g. 0-9|10-19@30-60.", repeatable: true),
        .value("--one-way", "SPEC", "One-way cut: datagrams from A to B dropped, same SPEC form.", repeatable: true),
        .value("--slow", "NODE:MS[@FROM-UNTIL]", "Hand a node its messages MS late, e.g. 4:300@10-50.", repeatable: true),
        .flag("--encrypted", "Count the encryption envelope (52 bytes) in every message's size."),
        .value("--license-servers", "N", "Run the licensing layer: nodes 0...N-1 are the license servers (node 0 the preferred authority)."),
        .value("--max-cores", "N", "With a license: the cluster-wide core limit (default 2 x nodes)."),
        .value("--cores", "N", "With a license: cores each node asks for (default 2)."),
        .value("--policy", "NAME", "With a license: majority or available (default: majority with 3+ servers)."),
        .value("--client", "NODE", "With a license: a node that acquires in a loop every 100 ms (default: the last node).", repeatable: true),
        .value("--crash-authority", "PERIOD", "With a license: crash node 0 (the authority) at this period.", repeatable: true),
        .flag("--trace-licensing", "With a license: print every licensing event (authority changes, grants, refusals)."),
        .flag("--json", "Print the report as JSON instead of tables."),
    ],
    discussion: """
    Nodes are numbered 0...N-1. Times in specs are protocol periods (probe intervals of the profile),
    so a spec means the same under every profile. Node groups are lists of nodes and ranges: 0-9,12.
      --partition 0-9|10-19@30-60   nodes 0-9 and 10-19 cannot reach each other from period 30 to 60
      --partition 0-4@50            nodes 0-4 are cut from everyone else from period 50 to the end
      --one-way 0-4|5-9@20-40       datagrams from 0-4 to 5-9 are dropped (answers back still pass)
      --slow 3:300@10-60            node 3 gets every message 300 ms late from period 10 to 60
    Detection times are measured per crashed node: to the first suspicion anywhere, to the first
    confirmed death, and to the death being confirmed by every member that was live at the crash.
    One seed replays a whole run exactly, in any process.
    """,
    run: runSimulate
)

@Sendable
func runSimulate(_ arguments: ParsedArguments) throws -> Int32 {
    let nodes = try arguments.int("--nodes", default: 100, range: 1...200_000)
    let periods = try arguments.int("--periods", default: 300, range: 1...1_000_000)
    let crashes = try arguments.int("--crash", default: 0, range: 0...max(0, nodes - 1))
    let seed = try arguments.uint64("--seed", default: 1)
    let profileName = arguments.string("--profile") ?? "lan"
    guard let settings = Settings.profile(named: profileName) else {
        throw arguments.malformed("--profile", profileName, "one of \(Settings.profileNames.joined(separator: ", "))")
    }
    var scenario = Scenario(nodeCount: nodes, settings: settings, periods: periods, seed: seed)
    switch arguments.string("--start") ?? "bootstrap" {
    case "bootstrap": scenario.start = .bootstrapped
    case "join": scenario.start = .joining
    case let other: throw arguments.malformed("--start", other, "bootstrap or join")
    }
    scenario.network.link.loss = try arguments.double("--loss", default: 0, range: 0...1)
    scenario.network.link.duplication = try arguments.double("--duplicate", default: 0, range: 0...1)
    scenario.network.link.reorder = try arguments.double("--reorder", default: 0, range: 0...1)
    scenario.network.link.latency = milliseconds(try arguments.double("--latency", default: 0.5, range: 0...60_000))
    scenario.network.link.jitter = milliseconds(try arguments.double("--jitter", default: 0.2, range: 0...60_000))
    scenario.countEncryptionOverhead = arguments.flag("--encrypted")

    let interval = settings.probeInterval
    func parse(_ flag: String, _ make: (String) throws(FaultSpecError) -> Fault) throws {
        for spec in arguments.strings(flag) {
            do { scenario.faults.append(try make(spec)) } catch {
                throw UsageError(message: "invalid value '\(spec)' for \(flag): \(error)", command: arguments.commandPath)
            }
        }
    }
    try parse("--partition") { (spec) throws(FaultSpecError) in
        try FaultSpec.partition(spec, oneWay: false, nodeCount: nodes, probeInterval: interval)
    }
    try parse("--one-way") { (spec) throws(FaultSpecError) in
        try FaultSpec.partition(spec, oneWay: true, nodeCount: nodes, probeInterval: interval)
    }
    try parse("--slow") { (spec) throws(FaultSpecError) in
        try FaultSpec.slow(spec, nodeCount: nodes, probeInterval: interval)
    }
    if let serversText = arguments.string("--license-servers") {
        guard let servers = Int(serversText), servers >= 1, servers <= min(nodes, LicenseTerms.maximumServers) else {
            throw arguments.malformed("--license-servers", serversText, "a number of servers in 1...\(min(nodes, LicenseTerms.maximumServers))")
        }
        let cores = try arguments.int("--cores", default: 2, range: 1...1_000_000)
        let maxCores = try arguments.int("--max-cores", default: 2 * nodes, range: 1...Int(Int32.max))
        var policy: PartitionPolicy?
        if let name = arguments.string("--policy") {
            guard let chosen = PartitionPolicy(rawValue: name) else { throw arguments.malformed("--policy", name, "majority or available") }
            policy = chosen
        }
        var licensing = LicensingScenario(servers: servers, maxCores: maxCores, coresPerNode: cores, policy: policy)
        licensing.clients = try arguments.strings("--client").map { text in
            guard let node = Int(text), node >= 0, node < nodes else {
                throw arguments.malformed("--client", text, "a node number in 0...\(nodes - 1)")
            }
            return node
        }
        if licensing.clients.isEmpty { licensing.clients = [nodes - 1] }
        scenario.licensing = licensing
        for text in arguments.strings("--crash-authority") {
            guard let period = Int(text), period >= 0, period < periods else {
                throw arguments.malformed("--crash-authority", text, "a period in 0...\(periods - 1)")
            }
            scenario.faults.append(Fault(at: interval * period, .crash(node: 0)))
        }
    } else {
        for flag in ["--max-cores", "--cores", "--policy", "--client", "--crash-authority"] where !arguments.strings(flag).isEmpty {
            throw UsageError(message: "\(flag) needs --license-servers", command: arguments.commandPath)
        }
    }

    // Crashes after a warm-up, early enough that even the longest suspicion timeout ends in the run.
    let earliest = min(10, periods / 4)
    let latest = max(earliest + 1, periods / 2)
    scenario.addRandomCrashes(crashes, in: interval * earliest..<interval * latest)

    let simulator: Simulator
    do {
        simulator = try Simulator(scenario)
    } catch {
        throw UsageError(message: "\(error)", command: arguments.commandPath)
    }
    let started = ContinuousClock.now
    simulator.run()
    var report = simulator.report()
    report.wallSeconds = (ContinuousClock.now - started).seconds

    if arguments.flag("--json") {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(report)
        print(String(decoding: data, as: UTF8.self))
    } else {
        let link = scenario.network.link
        print("Simulated \(nodes) nodes for \(periods) periods of \(interval) (profile \(profileName), seed \(seed), start \(scenario.start == .bootstrapped ? "bootstrapped" : "joining"))")
        print("Links: latency \(link.latency) +/- \(link.jitter), loss \(link.loss), duplication \(link.duplication), reorder \(link.reorder)"
              + (scenario.faults.isEmpty ? "" : "; \(scenario.faults.count) scheduled faults"))
        print("")
        print(report.table(), terminator: "")
        if arguments.flag("--trace-licensing") {
            print("\nLicensing events")
            for record in simulator.licensingRecords {
                if case .acquired = record.event.kind { continue }   // one per client request: too many to list
                print("  node \(record.node): \(record.event)")
            }
        }
        let wall = report.wallSeconds ?? 0
        let rate = wall > 0 ? Double(report.queueEvents) / wall : 0
        print("Wall time: \(SimulationReport.fixed(wall, 2)) s (\(SimulationReport.fixed(rate / 1e6, 2)) M events/s)")
    }
    return 0
}

private func milliseconds(_ value: Double) -> Duration {
    .nanoseconds(Int64((value * 1e6).rounded()))
}
