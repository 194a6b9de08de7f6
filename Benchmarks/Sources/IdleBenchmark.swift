#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Mesh
import AgentHarness

/// Traffic and cost of a cluster at rest: N `licmesh agent` processes on loopback converge, settle,
/// then idle for a window; the agents' own counters (read with SIGUSR1 at both ends of the window)
/// give bytes and packets sent per node per second, /proc gives CPU seconds and RSS per process.
/// With `licensed`, the agents hold a license and the run measures start-up and an authority kill
/// as well (`LicensedIdle`).
public enum IdleBenchmark {
    public struct Options: Codable, Sendable {
        public var nodes: Int
        public var seconds: Double
        public var plain: Bool
        public var profile: String
        public var settleSeconds: Double
        public var executable: String
        public var licensed: Bool
        /// Longest wait for the membership to converge; with `licensed` also for the ledgers, and
        /// after the kill for each step of the takeover.
        public var timeoutSeconds: Double
        public init(nodes: Int, seconds: Double, plain: Bool, profile: String, settleSeconds: Double, executable: String,
                    licensed: Bool = false, timeoutSeconds: Double = 120) {
            self.nodes = nodes; self.seconds = seconds; self.plain = plain; self.profile = profile
            self.settleSeconds = settleSeconds; self.executable = executable; self.licensed = licensed
            self.timeoutSeconds = timeoutSeconds
        }
    }

    /// One agent over the window.
    public struct Node: Codable, Sendable {
        public var id: String
        public var windowSeconds: Double
        /// UDP datagrams and their bytes (the UDP payload: our packet, envelope included) sent per second.
        public var udpPacketsPerSecond: Double
        public var udpBytesPerSecond: Double
        public var udpBytesInPerSecond: Double
        /// TCP stream frames (push-pull) sent per second, and their bytes.
        public var tcpFramesPerSecond: Double
        public var tcpBytesPerSecond: Double
        /// CPU seconds (user + system) used during the window, and per second of it.
        public var cpuSeconds: Double
        public var cpuFraction: Double
        public var rssBytes: Int
        public var peakRSSBytes: Int
        /// Of `rssBytes`: private memory, and pages of the binary and shared libraries.
        public var anonymousRSSBytes: Int
        public var fileRSSBytes: Int
        /// Bytes sent per second by message kind ("ping", "ack"...), UDP only.
        public var udpBytesPerSecondByKind: [String: Double]
        /// Suspicions this node raised during the window (none in a quiet cluster): each is gossip
        /// that the window's traffic carries.
        public var suspicions: Int?
    }

    public struct Summary: Codable, Sendable {
        public var mean: Double
        public var median: Double
        public var min: Double
        public var max: Double
        init(_ values: [Double]) {
            let sorted = values.sorted()
            mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
            median = sorted.isEmpty ? 0 : sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            min = sorted.first ?? 0
            max = sorted.last ?? 0
        }
    }

    public struct Results: Codable, Sendable {
        public var benchmark = "idle"
        public var date: String
        var machine: MachineDescription
        public var options: Options
        public var encrypted: Bool
        /// Seconds from the first spawn to the last agent's `started` line (its own stamp), and to
        /// every agent reporting every other as joined.
        public var allStartedSeconds: Double?
        public var membershipSeconds: Double?
        public var nodes: [Node]
        public var udpBytesPerSecond: Summary
        public var udpPacketsPerSecond: Summary
        public var tcpBytesPerSecond: Summary
        public var totalBytesPerSecond: Summary
        public var cpuFraction: Summary
        public var rssMiB: Summary
        public var peakRSSMiB: Summary
        public var anonymousRSSMiB: Summary
        public var fileRSSMiB: Summary
        public var udpBytesPerSecondByKind: [String: Double]
        var licensed: LicensedIdle.Figures?
    }

    public static func run(_ options: Options, resultsDirectory: String, print log: (String) -> Void) throws -> Results {
        ChildProcesses.installInterruptHandlers()
        let machine = MachineDescription.current()
        let mode = options.plain ? "plain (no encryption)" : "encrypted (AES-256-GCM, 52 bytes per packet)"
        let licensing = options.licensed
            ? ", licensed (\(LicensedIdle.servers) servers, \(LicensedIdle.coresPerNode) cores per node at start)" : ""
        log("idle benchmark: \(options.nodes) agents on loopback, profile \(options.profile), \(mode)\(licensing), "
            + "window \(formatFixed(options.seconds, 0)) s after \(formatFixed(options.settleSeconds, 0)) s of settling")
        log("machine: \(machine.summary)")

        // Every agent holds a pipe to us, and with --licensed each read of its API is a connection.
        DescriptorLimit.raise(toAtLeast: 4 * options.nodes + 1024)
        let firstID: UInt64 = 0xE000
        var launch = AgentLaunch(executable: options.executable, profile: options.profile, plain: options.plain)
        var setup: LicensedIdle.Setup?
        defer { setup?.remove() }
        var watch: LicensedIdle.StartupWatch?
        defer { watch?.stop() }
        if options.licensed {
            try LicensedTakeover.requireAgentLicenseFlags(executable: options.executable)
            let made = try LicensedIdle.Setup(nodes: options.nodes, firstID: firstID)
            setup = made
            launch.perAgentArguments = made.perAgent
            let ids = Set((0..<options.nodes).map { AgentProcess.hex(firstID + UInt64($0)) })
            watch = LicensedIdle.StartupWatch(ports: made.ports, nodes: ids, timeout: options.timeoutSeconds)
        }
        let cluster = try AgentCluster(count: options.nodes, firstID: firstID, launch: launch, timeout: options.timeoutSeconds)
        defer { cluster.stop() }
        let started = cluster.agents.compactMap { $0.events("started").first?.atMilliseconds }.max()
            .map { ($0 - cluster.agents[0].spawnedAtMilliseconds) / 1000 }
        log("every agent started \(started.map { formatFixed($0, 1) } ?? "?") s after the first spawn; "
            + "membership converged (every agent reported every other joined) after \(formatFixed(cluster.convergenceSeconds, 1)) s")
        var startup: LicensedIdle.Startup?
        if let watch, let setup {
            startup = LicensedIdle.measureStartup(cluster, ports: setup.ports, watch: watch, timeout: options.timeoutSeconds, log: log)
            if let startup {
                log(LicensedIdle.table(LicensedIdle.Figures(maxCores: LicensedIdle.coresPerNode * options.nodes, startup: startup)))
                log(LicensedIdle.startupNotes(startup))
            }
        }
        log("settling")
        sleepSeconds(options.settleSeconds)

        let before = try snapshot(cluster)
        sleepSeconds(options.seconds)
        let after = try snapshot(cluster)

        var nodes: [Node] = []
        for agent in cluster.agents {
            guard let c0 = before.counters[agent.id], let c1 = after.counters[agent.id],
                  let s0 = before.stats[agent.id], let s1 = after.stats[agent.id] else { continue }
            let window = (c1.atMilliseconds - c0.atMilliseconds) / 1000
            guard window > 0 else { continue }
            func rate(_ key: String) -> Double { (number(c1, key) - number(c0, key)) / window }
            var byKind: [String: Double] = [:]
            for (key, value) in c1.fields where key.hasPrefix("udp_") && key.hasSuffix("_out") && value.contains("/") {
                let kind = String(key.dropFirst(4).dropLast(4))
                byKind[kind] = (pair(value).bytes - pair(c0.fields[key] ?? "0/0").bytes) / window
            }
            let cpu = s1.cpuSeconds - s0.cpuSeconds
            nodes.append(Node(id: agent.idText, windowSeconds: window,
                              udpPacketsPerSecond: rate("udp_packets_out"), udpBytesPerSecond: rate("udp_bytes_out"),
                              udpBytesInPerSecond: rate("udp_bytes_in"),
                              tcpFramesPerSecond: rate("tcp_frames_out"), tcpBytesPerSecond: rate("tcp_bytes_out"),
                              cpuSeconds: cpu, cpuFraction: cpu / window, rssBytes: s1.rssBytes, peakRSSBytes: s1.peakRSSBytes,
                              anonymousRSSBytes: s1.anonymousRSSBytes, fileRSSBytes: s1.fileRSSBytes,
                              udpBytesPerSecondByKind: byKind, suspicions: Int(number(c1, "suspicions") - number(c0, "suspicions"))))
        }
        guard nodes.count == cluster.agents.count else {
            throw BenchmarkError("counters or /proc figures missing for \(cluster.agents.count - nodes.count) agent(s)")
        }
        var kinds: [String: Double] = [:]
        for node in nodes { for (kind, rate) in node.udpBytesPerSecondByKind { kinds[kind, default: 0] += rate / Double(nodes.count) } }
        let mib = Double(1 << 20)
        var results = Results(
            date: ISO8601DateFormatter().string(from: Date()), machine: machine, options: options, encrypted: !options.plain,
            allStartedSeconds: started, membershipSeconds: cluster.convergenceSeconds,
            nodes: nodes, udpBytesPerSecond: Summary(nodes.map(\.udpBytesPerSecond)),
            udpPacketsPerSecond: Summary(nodes.map(\.udpPacketsPerSecond)), tcpBytesPerSecond: Summary(nodes.map(\.tcpBytesPerSecond)),
            totalBytesPerSecond: Summary(nodes.map { $0.udpBytesPerSecond + $0.tcpBytesPerSecond }),
            cpuFraction: Summary(nodes.map(\.cpuFraction)), rssMiB: Summary(nodes.map { Double($0.rssBytes) / mib }),
            peakRSSMiB: Summary(nodes.map { Double($0.peakRSSBytes) / mib }),
            anonymousRSSMiB: Summary(nodes.map { Double($0.anonymousRSSBytes) / mib }),
            fileRSSMiB: Summary(nodes.map { Double($0.fileRSSBytes) / mib }), udpBytesPerSecondByKind: kinds)
        log(table(results))
        if let setup, let startup {
            var figures = LicensedIdle.Figures(maxCores: LicensedIdle.coresPerNode * options.nodes, startup: startup)
            do {
                figures.takeover = try LicensedIdle.killAuthority(cluster, setup: setup, timeout: options.timeoutSeconds, log: log)
            } catch {
                figures.takeoverProblem = "\(error)"
            }
            results.licensed = figures
            log(LicensedIdle.table(figures))
        }
        let name = "bench-idle-n\(options.nodes)-\(options.profile)-\(options.plain ? "plain" : "encrypted")"
            + (options.licensed ? "-licensed" : "")
        let path = try BenchmarkResults.write(results, name: name + ".json", directory: resultsDirectory)
        log("wrote \(path)")
        return results
    }

    private struct Snapshot {
        var counters: [UInt64: AgentEvent] = [:]
        var stats: [UInt64: ProcessStats] = [:]
    }

    /// Counters of every agent (SIGUSR1, all at once, then the answers) and their /proc figures.
    private static func snapshot(_ cluster: AgentCluster) throws -> Snapshot {
        var snapshot = Snapshot()
        let counts = Dictionary(uniqueKeysWithValues: cluster.agents.map { ($0.id, $0.count("counters")) })
        for agent in cluster.agents {
            snapshot.stats[agent.id] = ProcessStats.read(pid: agent.process.pid)
            agent.process.signal(SIGUSR1)
        }
        guard waitUntil(timeout: 10, { cluster.agents.allSatisfy { $0.count("counters") > counts[$0.id] ?? 0 } }) else {
            throw BenchmarkError("some agents did not print their counters within 10 s of SIGUSR1")
        }
        for agent in cluster.agents { snapshot.counters[agent.id] = agent.events("counters").last }
        return snapshot
    }

    private static func number(_ event: AgentEvent, _ key: String) -> Double { event.fields[key].flatMap(Double.init) ?? 0 }

    /// "packets/bytes" as in `udp_ping_out=12/345`.
    private static func pair(_ text: String) -> (packets: Double, bytes: Double) {
        let parts = text.split(separator: "/")
        return (parts.first.flatMap { Double($0) } ?? 0, parts.count > 1 ? Double(parts[1]) ?? 0 : 0)
    }

    static func table(_ results: Results) -> String {
        func row(_ name: String, _ s: Summary, _ decimals: Int) -> [String] {
            [name, formatFixed(s.mean, decimals), formatFixed(s.median, decimals), formatFixed(s.min, decimals), formatFixed(s.max, decimals)]
        }
        var rows = [["per node (\(results.nodes.count) agents, \(results.encrypted ? "encrypted" : "plain"))", "mean", "median", "min", "max"]]
        rows.append(row("UDP bytes sent per second", results.udpBytesPerSecond, 1))
        rows.append(row("UDP packets sent per second", results.udpPacketsPerSecond, 2))
        rows.append(row("TCP (push-pull) bytes sent per second", results.tcpBytesPerSecond, 1))
        rows.append(row("UDP + TCP bytes sent per second", results.totalBytesPerSecond, 1))
        rows.append(row("CPU (fraction of one core) *", results.cpuFraction, 4))
        rows.append(row("RSS at the end (MiB)", results.rssMiB, 1))
        rows.append(row("  of which private (RssAnon, MiB)", results.anonymousRSSMiB, 1))
        rows.append(row("  of which binary and libraries (RssFile)", results.fileRSSMiB, 1))
        rows.append(row("peak RSS (MiB)", results.peakRSSMiB, 1))
        var out = TextFormat.table(rows) + "\n"
        let kinds = results.udpBytesPerSecondByKind.sorted { $0.value > $1.value }
            .map { "\($0.key) \(formatFixed($0.value, 1))" }.joined(separator: ", ")
        out += "  UDP bytes per second by kind (mean per node): \(kinds)\n"
        out += "  suspicions raised during the window, all nodes: \(results.nodes.compactMap(\.suspicions).reduce(0, +))\n"
        out += "  * CPU depends on the machine: 2 cores shared with other developers' builds"
        return out
    }
}
