#if canImport(Glibc)
import Glibc
#endif
import AgentHarness
import ArgumentParsing
import SWIM
import Simulation

/// `licmesh bench ...` (licmesh-bench): benchmarks that print figures and write JSON results (never pass/fail on time).
let benchCommand = Command(
    name: "bench",
    summary: "Run a benchmark and write its figures to a results folder.",
    subcommands: [benchDetectionCommand, benchIdleCommand, benchCodecCommand, benchScaleCommand, benchAuthorityCommand, benchHTTPCommand,
                  benchStarvationCommand, benchSimCommand, benchTakeoverSimCommand, benchCatalogueCommand]
)

let benchDetectionCommand = Command(
    name: "detection",
    summary: "Failure detection on real UDP: N agent processes on loopback, SIGKILL one, time every survivor's view.",
    options: [
        .value("--nodes", "N", "Agents, one process each (default 5)."),
        .value("--runs", "R", "Runs, each with a fresh cluster (default 10)."),
        .value("--profile", "NAME", "Protocol settings of the agents: lan (default), wan or local."),
        .value("--kill", "WHICH", "random (default) or authority (the lowest node ID; with --licensed, the node the client saw answer)."),
        .flag("--licensed", "Agents hold a license and a client acquires and validates in a loop; measures the takeover too."),
        .value("--settle", "SECONDS", "Wait between convergence and the kill (default 3)."),
        .value("--timeout", "SECONDS", "Longest wait after the kill for every survivor to confirm the death (default 60)."),
        .value("--seed", "S", "Seed of the random choice of victims (default 1)."),
        .value("--binary", "FILE", "The licmesh binary to run as agents (default: the licmesh beside licmesh-bench)."),
        .value("--results", "DIR", "Folder for the JSON and the SVG CDF plot (default results)."),
    ],
    discussion: """
    Every agent runs encrypted with a throwaway gossip key; the cluster's processes and temporary
    files are removed after each run, on error and on Ctrl-C. Times come from the agents' own
    event stamps (CLOCK_MONOTONIC ms) against the kill's CLOCK_MONOTONIC time here; the output says
    whether the two clocks agreed. Build with -c release. The figures depend on CPU: on a shared
    machine run it twice and report both.
    """,
    run: { arguments in
        let nodes = try arguments.int("--nodes", default: 5, range: 2...500)
        let killText = arguments.string("--kill") ?? "random"
        guard let victim = DetectionBenchmark.Victim(rawValue: killText) else {
            throw arguments.malformed("--kill", killText, "random or authority")
        }
        let profile = arguments.string("--profile") ?? "lan"
        guard Settings.profile(named: profile) != nil else {
            throw arguments.malformed("--profile", profile, "one of \(Settings.profileNames.joined(separator: ", "))")
        }
        let options = DetectionBenchmark.Options(
            nodes: nodes, runs: try arguments.int("--runs", default: 10, range: 1...10_000), profile: profile, victim: victim,
            licensed: arguments.flag("--licensed"), settleSeconds: try arguments.double("--settle", default: 3, range: 0...600),
            detectionTimeoutSeconds: try arguments.double("--timeout", default: 60, range: 1...3_600),
            seed: try arguments.uint64("--seed", default: 1),
            executable: arguments.string("--binary") ?? AgentBinary.licmesh())
        _ = try DetectionBenchmark.run(options, resultsDirectory: arguments.string("--results") ?? "results", print: printFlushed)
        return 0
    }
)

let benchIdleCommand = Command(
    name: "idle",
    summary: "Traffic, CPU and memory of N agent processes at rest on loopback.",
    options: [
        .value("--nodes", "N", "Agents, one process each (default 10)."),
        .value("--seconds", "S", "Length of the measured idle window (default 60)."),
        .flag("--plain", "Run the agents unencrypted (--insecure-plain) instead of with a throwaway gossip key."),
        .value("--profile", "NAME", "Protocol settings of the agents: lan (default), wan or local."),
        .value("--settle", "SECONDS", "Wait between convergence and the window (default 5)."),
        .flag("--licensed", "Agents hold a license (3 servers, 2 cores each at start); also measures start-up and an authority kill."),
        .value("--timeout", "SECONDS", "Longest wait for convergence; with --licensed also for the ledgers and each takeover step (default 300)."),
        .value("--binary", "FILE", "The licmesh binary to run as agents (default: the licmesh beside licmesh-bench)."),
        .value("--results", "DIR", "Folder for the JSON results (default results)."),
    ],
    discussion: """
    Bytes and packets come from the agents' own counters (SIGUSR1 at both ends of the window): UDP
    bytes are datagram payloads as sent (our packet, with the 52-byte envelope when encrypted), TCP
    bytes the push-pull frames. CPU seconds and RSS come from /proc/PID/stat and /proc/PID/status.
    Run once with and once without --plain to compare.

    With --licensed (at least 4 nodes): a license for every agent's MAC, the first 3 license
    servers, a limit of 2 cores per node, each agent asking for 2 at start and serving its local
    API. Before the window: spawn to every agent holding its cores, and to every replica's
    GET /v1/ledger equal and complete in one round (polled from the first spawn, agent after agent).
    After it: SIGKILL of the authority while the last node validates every 5 ms; the surviving
    servers' /v1/authority polled every 20 ms; every survivor's ledger until all name the new
    authority and are equal; then until the dead authority's grant, back in the pool after the
    30 s grace period, is in every replica. Run the same --nodes without --licensed to compare.
    At 200 agents the start-up's gossip lasts minutes: --settle 180 puts the window past it.
    """,
    run: { arguments in
        let profile = arguments.string("--profile") ?? "lan"
        guard Settings.profile(named: profile) != nil else {
            throw arguments.malformed("--profile", profile, "one of \(Settings.profileNames.joined(separator: ", "))")
        }
        let licensed = arguments.flag("--licensed")
        let options = IdleBenchmark.Options(
            nodes: try arguments.int("--nodes", default: 10, range: (licensed ? 4 : 2)...500),
            seconds: try arguments.double("--seconds", default: 60, range: 1...86_400), plain: arguments.flag("--plain"),
            profile: profile, settleSeconds: try arguments.double("--settle", default: 5, range: 0...600),
            executable: arguments.string("--binary") ?? AgentBinary.licmesh(), licensed: licensed,
            timeoutSeconds: try arguments.double("--timeout", default: 300, range: 10...3_600))
        _ = try IdleBenchmark.run(options, resultsDirectory: arguments.string("--results") ?? "results", print: printFlushed)
        return 0
    }
)

let benchCodecCommand = Command(
    name: "codec",
    summary: "Encode, decode, seal and open throughput of typical messages (messages/s, MB/s), in process.",
    options: [
        .value("--repetitions", "N", "Timed repetitions per case; the median is reported (default 5)."),
        .value("--seconds", "S", "Approximate length of one repetition (default 0.3)."),
        .value("--results", "DIR", "Folder for bench-codec.json (default results)."),
    ],
    run: { arguments in
        _ = try CodecBenchmark.run(repetitions: try arguments.int("--repetitions", default: 5, range: 1...1_000),
                                   secondsPerRepetition: try arguments.double("--seconds", default: 0.3, range: 0.01...60),
                                   resultsDirectory: arguments.string("--results") ?? "results", print: printFlushed)
        return 0
    }
)

let benchScaleCommand = Command(
    name: "scale",
    summary: "The protocol at N = 10, 100, 1,000 (and 10,000) in the simulator, beside the SWIM paper's expectations.",
    options: [
        .flag("--large", "Also 10,000 nodes: several minutes and about 11 GB of memory."),
        .value("--nodes", "LIST", "Cluster sizes instead, comma-separated (e.g. 10,100)."),
        .flag("--licensed", "Licensed against unlicensed traffic instead (default N = 100, 300, 1,000): start-up and steady bytes, replicas equal, push-pull size."),
        .value("--periods", "P", "With --licensed: run length in protocol periods (default 300)."),
        .value("--results", "DIR", "Folder for bench-scale.json and bench-scale.svg (default results)."),
    ],
    discussion: """
    Per size: crash detection over several crashes (first suspicion, first dead, dead at every
    member, in protocol periods), traffic per node per period, false accusations during a run at
    10 % loss with no crash (one simulated hour up to 100 nodes), and the simulator's speed.
    Build with -c release: a debug build is many times slower.
    """,
    run: { arguments in
        if arguments.flag("--licensed") {
            let sizes = try integerList(arguments, "--nodes", default: [100, 300, 1_000], range: 4...100_000)
            let periods = try arguments.int("--periods", default: 300, range: 130...100_000)
            _ = try LicensedScaleBenchmark.run(sizes: sizes, periods: periods, resultsDirectory: arguments.string("--results") ?? "results",
                                               print: printFlushed)
            return 0
        }
        var sizes = try integerList(arguments, "--nodes", default: [10, 100, 1_000], range: 4...100_000)
        if arguments.flag("--large") && !sizes.contains(10_000) { sizes.append(10_000) }
        if sizes.contains(where: { $0 >= 10_000 }), let available = ScaleBenchmark.availableMemoryGiB(), available < 12 {
            printError("error: 10,000 simulated nodes need about 11 GB of memory; only \(Int(available)) GB are available now. "
                + "Free memory or run without --large.")
            return 1
        }
        _ = try ScaleBenchmark.run(sizes: sizes, resultsDirectory: arguments.string("--results") ?? "results", print: printFlushed)
        return 0
    }
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

let benchCatalogueCommand = Command(
    name: "catalogue",
    summary: "The scenario catalogue over many seeds: safety after every event, liveness once faults healed.",
    options: [
        .value("--seeds", "N", "Seeds per scenario (default 1000: 10,000 runs)."),
        .value("--first-seed", "S", "The first seed (default 1)."),
        .value("--scenario", "NAME", "Only this scenario (\(ScenarioCatalogue.Kind.allCases.map(\.rawValue).joined(separator: ", ")))."),
        .value("--seed", "S", "Only this seed (with --scenario: reproduce one failing run)."),
        .flag("--hostile", "On a hostile network: replays of every message, forgeries with extreme values and forged senders, skewed clocks."),
        .value("--results", "DIR", "Folder for bench-catalogue.json (default results)."),
    ],
    discussion: """
    Scenarios: rolling start with gaps longer than the join retry; late restart (after the grace
    period) of the authority and of an ordinary node; whole-cluster restart; partitions shorter and
    longer than the grace period under both policies; over-subscription then releases; a license
    renewal rolled out server by server with a restart midway. Each seed picks the cluster size, the
    timings, the partition's sides and the loss. The invariants are in docs/invariants.md. Exits 1 when
    any run violated one, after printing each failing scenario and seed. Build with -c release.
    """,
    run: { arguments in
        var kinds = ScenarioCatalogue.Kind.allCases
        if let name = arguments.string("--scenario") {
            guard let kind = ScenarioCatalogue.Kind(rawValue: name) else {
                throw arguments.malformed("--scenario", name, ScenarioCatalogue.Kind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            kinds = [kind]
        }
        let single = try arguments.string("--seed").map { _ in try arguments.uint64("--seed", default: 1) }
        let results = try CatalogueBenchmark.run(
            seeds: single == nil ? try arguments.int("--seeds", default: 1_000, range: 1...1_000_000) : 1,
            firstSeed: single ?? (try arguments.uint64("--first-seed", default: 1)), only: kinds, hostile: arguments.flag("--hostile"),
            resultsDirectory: arguments.string("--results") ?? "results", print: printFlushed)
        return results.failedRuns == 0 ? 0 : 1
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

/// Prints a line and flushes at once: long benchmarks report progress even into a pipe.
private func printFlushed(_ line: String) {
    print(line)
    fflush(nil)  // every output stream: stdout is not concurrency-safe to name in Swift 6
}

let benchAuthorityCommand = Command(
    name: "authority",
    summary: "Acquire, release and validate throughput and latency at the authority and at a replica (real agents).",
    options: [
        .value("--nodes", "N", "Agents (default 5; 3 are license servers)."),
        .value("--seconds", "S", "Duration of each measured row (default 10)."),
        .value("--clients", "N", "Client threads per row (default 4)."),
        .value("--profile", "NAME", "Protocol timers: lan (default), wan or local."),
        .value("--results", "DIR", "Folder for bench-authority.json (default results)."),
    ],
    run: { arguments in
        let nodes = try arguments.int("--nodes", default: 5, range: 3...50)
        let seconds = try arguments.double("--seconds", default: 10, range: 1...600)
        let clients = try arguments.int("--clients", default: 4, range: 1...64)
        _ = try AuthorityBenchmark.run(nodes: nodes, seconds: seconds, clients: clients,
                                       profile: arguments.string("--profile") ?? "lan",
                                       resultsDirectory: arguments.string("--results") ?? "results") { print($0) }
        return 0
    }
)

let benchHTTPCommand = Command(
    name: "http",
    summary: "Validate latency at a replica's local API with 0, 100, 1,000 idle connections and 100 slowloris clients held (real agents).",
    options: [
        .value("--seconds", "S", "Duration of each measured row (default 5)."),
        .value("--results", "DIR", "Folder for bench-http.json (default results)."),
    ],
    run: { arguments in
        let seconds = try arguments.double("--seconds", default: 5, range: 1...600)
        _ = try HTTPLoadBenchmark.run(seconds: seconds, resultsDirectory: arguments.string("--results") ?? "results") { printFlushed($0) }
        return 0
    }
)

let benchStarvationCommand = Command(
    name: "starvation",
    summary: "One agent CPU-starved (SIGSTOP for a few seconds, then SIGCONT): is any healthy member declared dead?",
    options: [
        .value("--nodes", "N", "Agents (default 10)."),
        .value("--runs", "R", "Runs, each with a fresh cluster (default 5)."),
        .value("--stop-seconds", "S", "How long the agent stays stopped (default 2)."),
        .value("--profile", "NAME", "Protocol timers: lan (default), wan or local."),
        .value("--results", "DIR", "Folder for bench-starvation-nN.json (default results)."),
    ],
    run: { arguments in
        _ = try StarvationBenchmark.run(nodes: try arguments.int("--nodes", default: 10, range: 3...50),
                                        runs: try arguments.int("--runs", default: 5, range: 1...100),
                                        stopSeconds: try arguments.double("--stop-seconds", default: 2, range: 0.1...60),
                                        profile: arguments.string("--profile") ?? "lan",
                                        resultsDirectory: arguments.string("--results") ?? "results") { print($0) }
        return 0
    }
)
