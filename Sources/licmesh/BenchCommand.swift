import Benchmarks

/// `licmesh bench ...`: benchmarks that print figures and write JSON results (never pass/fail on time).
let benchCommand = Command(
    name: "bench",
    summary: "Run a benchmark and write its figures to a results folder.",
    subcommands: [benchSimCommand]
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
