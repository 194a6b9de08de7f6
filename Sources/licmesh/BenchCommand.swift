import Benchmarks

/// `licmesh bench ...`: benchmarks that print figures and write JSON results (never pass/fail on time).
let benchCommand = Command(
    name: "bench",
    summary: "Run a benchmark and write its figures to a results folder.",
    subcommands: [benchSimCommand, benchTakeoverSimCommand]
)

let benchTakeoverSimCommand = Command(
    name: "takeover-sim",
    summary: "Authority takeover in the simulator over many seeds: takeover time, failed validations, invariants.",
    options: [
        .value("--nodes", "N", "Cluster size (default 10)."),
        .value("--servers", "N", "License servers (default 3)."),
        .value("--seeds", "N", "Runs, one seed each (default 200)."),
        .value("--profile", "NAME", "Protocol settings: lan (default), wan or local."),
        .value("--results", "DIR", "Folder for bench-takeover-sim.json (default results)."),
    ],
    run: { arguments in
        let nodes = try arguments.int("--nodes", default: 10, range: 3...1_000)
        let servers = try arguments.int("--servers", default: 3, range: 1...min(nodes, 255))
        let seeds = try arguments.int("--seeds", default: 200, range: 1...100_000)
        _ = try TakeoverSimulationBenchmark.run(nodes: nodes, servers: servers, seeds: seeds,
                                                profile: arguments.string("--profile") ?? "lan",
                                                resultsDirectory: arguments.string("--results") ?? "results") { print($0) }
        return 0
    }
)

let benchSimCommand = Command(
    name: "sim",
    summary: "Simulator speed: wall time, events/s, periods/s and peak memory for whole clusters.",
    options: [
        .value("--nodes", "LIST", "Cluster sizes, comma-separated (default 1000,10000)."),
        .value("--periods", "LIST", "Periods for each size, comma-separated (default 300,100)."),
        .value("--seed", "S", "Run seed (default 7)."),
        .value("--results", "DIR", "Folder for bench-sim.json (default results)."),
    ],
    discussion: """
    Each cluster starts bootstrapped (every node knows every other), so setup is O(n^2) in time and
    memory and is reported apart from the run. 10,000 nodes take several minutes and about 11 GB.
    Build with -c release: a debug build is many times slower.
    """,
    run: { arguments in
        let nodes = try integerList(arguments, "--nodes", default: [1000, 10_000], range: 2...100_000)
        let periods = try integerList(arguments, "--periods", default: [300, 100], range: 1...100_000)
        guard periods.count == nodes.count || periods.count == 1 else {
            throw UsageError(message: "--periods needs one value, or one per --nodes value (\(nodes.count))", command: arguments.commandPath)
        }
        let seed = try arguments.uint64("--seed", default: 7)
        let folder = arguments.string("--results") ?? "results"
        let cases = nodes.enumerated().map { (nodes: $0.element, periods: periods.count == 1 ? periods[0] : periods[$0.offset]) }
        _ = try SimulatorBenchmark.run(cases: cases, seed: seed, resultsDirectory: folder) { print($0) }
        return 0
    }
)

/// A comma-separated list of integers, each in `range`.
private func integerList(_ arguments: ParsedArguments, _ name: String, default defaultValue: [Int], range: ClosedRange<Int>) throws -> [Int] {
    guard let text = arguments.string(name) else { return defaultValue }
    let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
    guard !values.isEmpty, values.allSatisfy({ $0.map(range.contains) ?? false }) else {
        throw arguments.malformed(name, text, "comma-separated integers in \(range.lowerBound)...\(range.upperBound)")
    }
    return values.compactMap { $0 }
}
