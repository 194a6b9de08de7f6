#if canImport(Glibc)
import Glibc
#endif
import AgentHarness
import ArgumentParsing
import Mesh

/// `licmesh demo`: five licensed agents on loopback as child processes, the authority killed with
/// SIGKILL, and the takeover narrated live with its timings. Built on the harness it shares with the benchmarks (agent
/// processes and their event lines, the client loop through the HTTP API, cleanup on interrupt),
/// so what it shows is what `bench detection --kill authority` measures.
enum TakeoverDemo {
    static func run(nodes: Int = 5, profile: String = "lan", print say: @escaping (String) -> Void) throws -> Int32 {
        ChildProcesses.installInterruptHandlers()
        let executable = AgentBinary.current()
        try LicensedTakeover.requireAgentLicenseFlags(executable: executable)
        let folder = try ChildProcesses.makeTemporaryFolder(prefix: "licmesh-demo")
        defer { ChildProcesses.removeFolder(folder) }

        say("LicenseMesh demo: \(nodes) agents on 127.0.0.1, profile \(profile), encrypted gossip")
        say("")
        let materials = try LicensedTakeover.Materials(nodes: nodes, servers: 3, coresPerNode: 2, folder: folder, licensee: "LicenseMesh demo")
        say("1. A throwaway vendor key and a license: \(nodes * 2) cores for \(nodes) hosts, license servers")
        say("   \(materials.macs.prefix(3).joined(separator: ", ")) (the lowest is the preferred authority).")

        let firstID: UInt64 = 0xD001
        let (ports, perAgent) = try materials.agentArguments(firstID: firstID)
        let launch = AgentLaunch(executable: executable, profile: profile, plain: false, cluster: "demo", perAgentArguments: perAgent)
        let cluster = try AgentCluster(count: nodes, firstID: firstID, launch: launch, timeout: 60)
        var stopped = false
        defer { if !stopped { cluster.stop(grace: 0) } }
        say("2. Started \(nodes) agents (licmesh agent processes); they found each other in "
            + formatFixed(cluster.convergenceSeconds, 2) + " s.")

        let clientIndex = nodes - 1
        let client = LicensedTakeover.ClientLoop(port: ports[clientIndex], cores: materials.coresPerNode)
        defer { client.stop() }
        let authority = try LicensedTakeover.waitForFirstGrant(client: client, timeout: 30)
        // Let every agent hold its grant before the crash.
        _ = waitUntil(timeout: 10) { cluster.agents.allSatisfy { !$0.events("holding").isEmpty } }
        if let status = try? AgentAPIClient(address: SocketAddress.loopbackV4(port: ports[clientIndex]), timeout: .seconds(5)).status() {
            say("3. The cluster, as node \(AgentProcess.hex(firstID + UInt64(clientIndex))) sees it (licmesh status):")
            say("")
            for line in AgentStatusRendering.status(status).split(separator: "\n", omittingEmptySubsequences: false) { say("   " + line) }
        }
        say("   A client on node \(AgentProcess.hex(firstID + UInt64(clientIndex))) acquires and validates in a loop through its HTTP API.")
        say("")

        guard let victim = cluster.agents.first(where: { $0.id == authority }) else {
            throw BenchmarkError("the authority \(AgentProcess.hex(authority)) is not one of the demo's agents")
        }
        let survivors = cluster.agents.filter { $0.id != authority }
        let killedAt = MonotonicSeconds.milliseconds()
        victim.process.signal(SIGKILL)
        say("4. SIGKILL to the authority \(victim.idText) (pid \(victim.process.pid)). Live:")
        let narration = narrate(survivors: survivors, victim: authority, client: client, killedAt: killedAt, say: say)
        let figures = LicensedTakeover.measureLicensedTakeover(client: client, victim: authority, killedAtMilliseconds: killedAt, timeout: 5)

        say("")
        say("5. Timings from the SIGKILL:")
        func line(_ name: String, _ milliseconds: Double?) {
            say("   " + padded(name, 44)
                + (milliseconds.map { formatFixed($0, 0) + " ms" } ?? "not seen"))
        }
        line("first suspicion of the authority", narration.firstSuspicion)
        line("new authority elected", narration.newAuthority)
        line("first acquire served by the new authority", figures.takeoverSeconds.map { $0 * 1000 })
        line("authority confirmed dead by every survivor", narration.deadEverywhere)
        let windowEnd = killedAt + max(narration.deadEverywhere ?? 0, (figures.takeoverSeconds ?? 0) * 1000)
        let validations = client.validations(from: killedAt, to: windowEnd)
        say("   validations attempted / failed from the kill to the end of the takeover: \(validations.attempted) / \(validations.failed)")
        say("   acquires attempted / not granted in the window: \(figures.acquiresAttempted) / \(figures.acquiresFailed)"
            + " (a request waits while the authority changes; a validation never does)")
        say("")
        client.stop()
        cluster.stop(grace: 3)
        stopped = true
        say("6. Stopped the survivors with SIGTERM (each released its cores and left) and removed the temporary files.")
        return validations.failed == 0 && figures.validationsFailed == 0 && figures.takeoverSeconds != nil ? 0 : 1
    }

    struct Narration {
        var firstSuspicion: Double?
        var newAuthority: Double?
        var deadEverywhere: Double?
    }

    /// Prints, as they arrive, the survivors' events about the crash and the client's first answer
    /// from the new authority, each with its time since the kill; returns the milestones.
    static func narrate(survivors: [AgentProcess], victim: UInt64, client: LicensedTakeover.ClientLoop,
                        killedAt: Double, say: (String) -> Void) -> Narration {
        var result = Narration()
        var shown: Set<String> = []
        var servedShown = false
        let deadline = MonotonicSeconds.milliseconds() + 20_000
        while MonotonicSeconds.milliseconds() < deadline {
            var fresh: [(Double, String)] = []
            for agent in survivors {
                for name in ["suspected", "dead", "authority"] {
                    for event in agent.events(name) where event.atMilliseconds >= killedAt - 1 {
                        if name != "authority" && event.member != victim { continue }
                        if name == "authority", event.fields["authority"].flatMap({ UInt64($0, radix: 16) }) == victim { continue }
                        let key = "\(agent.id)/\(name)/\(event.fields["authority"] ?? event.fields["by"] ?? "")"
                        guard shown.insert(key).inserted else { continue }
                        let at = event.atMilliseconds - killedAt
                        let text: String = switch name {
                        case "suspected": "node \(agent.idText) suspects the authority (suspicion raised by \(event.fields["by"] ?? "?"))"
                        case "dead": "node \(agent.idText) confirms the authority dead"
                        default: "node \(agent.idText) follows the new authority \(event.fields["authority"] ?? "?") (epoch \(event.fields["epoch"] ?? "?"))"
                        }
                        fresh.append((at, text))
                        switch name {
                        case "suspected": result.firstSuspicion = min(result.firstSuspicion ?? at, at)
                        case "authority": result.newAuthority = min(result.newAuthority ?? at, at)
                        default: break
                        }
                    }
                }
            }
            if !servedShown, let served = client.collected.first(where: { $0.kind == .acquire && $0.succeeded
                && $0.sentMilliseconds >= killedAt && $0.authority != nil && $0.authority != victim }) {
                servedShown = true
                fresh.append((served.answeredMilliseconds - killedAt,
                              "the client's acquire is granted by the new authority \(AgentProcess.hex(served.authority ?? 0))"))
            }
            for (at, text) in fresh.sorted(by: { $0.0 < $1.0 }) {
                say("   +" + formatFixed(at, 0).leftPadded(to: 5) + " ms  " + text)
            }
            let deadEverywhere = survivors.allSatisfy { agent in !agent.events("dead", member: victim).isEmpty }
            if deadEverywhere && servedShown {
                result.deadEverywhere = survivors.compactMap { $0.events("dead", member: victim).first?.atMilliseconds }.max()
                    .map { $0 - killedAt }
                break
            }
            usleep(10_000)
        }
        return result
    }
}

