#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Mesh
import Synchronization
import AgentHarness

/// `bench idle --licensed`: the idle benchmark's agents holding a license, with what a licensed
/// cluster adds around the idle window. The license lists every agent's MAC, the first three as
/// license servers, and allows 2 cores per node; every agent asks for 2 at start (a mass start) and
/// serves its local API, through which this process reads each replica: `GET /v1/ledger`, whose
/// rows are compared whole (no endpoint gives the ledger's digest).
///
/// - Start-up: from the first spawn until one poll round finds every replica equal and complete (2
///   cores for every node), and until every agent has printed `event=holding` (its own stamp).
/// - The idle window: as unlicensed (`IdleBenchmark`); nothing is polled meanwhile.
/// - Authority kill: SIGKILL of the authority while a replica that is neither a server nor the
///   authority validates every 5 ms. The surviving servers' `/v1/authority` is polled every 20 ms
///   until one says it is the authority; then every survivor's ledger until all name it and are
///   equal; then, once the dead authority's grant returns to the pool (after the dead grace period,
///   30 s), until every replica holds that change too.
enum LicensedIdle {
    static let servers = 3
    static let coresPerNode = 2

    struct Startup: Codable, Sendable {
        /// First spawn to every agent reporting every other as joined (the membership).
        var membershipSeconds: Double
        /// First spawn to the last agent's first `holding` line; nil when some agent never printed one.
        var allHoldingSeconds: Double?
        var agentsHolding: Int
        /// Every replica equal and complete, from the first spawn (`last` says how far they were when not).
        var ledgers: LedgerRounds.Summary
        /// Terms the license servers started (`event=authority self=true`: "epoch by node at seconds
        /// after the first spawn"); event lines of note at all agents up to then, by name; and the rare
        /// ones in full ("seconds node name field=value ...", the first 30).
        var termsStarted: [String]
        var events: [String: Int]
        var rareEvents: [String]
        /// Members by incarnation in the last agent's table at the end of start-up: a member above 0
        /// announced itself again (a refutation, or its advert changed), a whole dissemination each time.
        var incarnations: [String: Int]
    }

    /// Event lines counted at start-up: what a mass start may cost besides joins and grants.
    static let notableEvents = ["suspected", "dead", "authority", "no-authority", "request-superseded"] + rareEvents
    static let rareEvents = ["stepped-down", "lost-grant", "refused", "request-refused", "request-abandoned", "revoked", "duplicate-mac"]

    /// Times in seconds after the kill.
    struct Takeover: Codable, Sendable {
        var victim: String
        var epochBefore: String
        var newAuthority: String?
        var newEpoch: String?
        var survivors: Int
        /// The first 20 ms poll in which a surviving server answered that it is the authority; the new
        /// authority's own `event=authority self=true` (its CLOCK_MONOTONIC stamp); the last survivor's
        /// `event=authority` naming it, and how many survivors printed one.
        var authorityPolledSeconds: Double?, authorityEventSeconds: Double?, knownEverywhereSeconds: Double?
        var survivorsKnowing: Int
        /// Every survivor naming the new authority and all ledgers equal, from the kill.
        var ledgers: LedgerRounds.Summary?
        var validations: Validations
        var reclaim: Reclaim?
    }

    /// Validations at a replica that is neither a server nor the authority, every 5 ms, from the kill
    /// to the end of the round in which the ledgers were equal again (or the timeout).
    struct Validations: Codable, Sendable {
        var node: String
        var attempted: Int
        /// Denied or unanswered.
        var failed: Int
        var slowestMilliseconds: Double?
    }

    /// The dead authority's grant back in the pool: seconds after the kill until a poll of the new
    /// authority's ledger showed it at 0 cores, then from there until a round found it in every replica.
    struct Reclaim: Codable, Sendable {
        var returnedSeconds: Double
        var replicas: LedgerRounds.Summary
    }

    struct Figures: Codable, Sendable {
        var servers = LicensedIdle.servers
        var coresPerNode = LicensedIdle.coresPerNode
        var maxCores: Int
        var startup: Startup
        var takeover: Takeover?
        /// Why the authority kill was not measured, when it was not (the idle figures are written anyway).
        var takeoverProblem: String?
    }

    /// The license, the vendor key and each agent's flags (its MAC, `--cores 2`, a data directory,
    /// a local API port), in a temporary folder that `remove()` deletes.
    struct Setup {
        var materials: LicensedTakeover.Materials
        var ports: [UInt16]
        var perAgent: [UInt64: [String]]

        init(nodes: Int, firstID: UInt64) throws {
            let folder = try ChildProcesses.makeTemporaryFolder(prefix: "licmesh-bench-idle-license")
            do {
                materials = try LicensedTakeover.Materials(nodes: nodes, servers: LicensedIdle.servers,
                                                           coresPerNode: LicensedIdle.coresPerNode, folder: folder)
                (ports, perAgent) = try materials.agentArguments(firstID: firstID)
            } catch {
                ChildProcesses.removeFolder(folder)
                throw error
            }
        }

        func remove() { ChildProcesses.removeFolder(materials.folder) }
    }

    /// Every replica equal and complete: a grant of `coresPerNode` for each of `nodes`.
    static func isComplete(_ report: LedgerReport, nodes: Set<String>) -> Bool {
        let held = report.ledger.filter { $0.cores == coresPerNode }.map(\.node)
        return held.count == nodes.count && Set(held) == nodes
    }

    // MARK: - Start-up

    /// Polls the ledgers from before the first spawn (on a thread of its own, since `AgentCluster`
    /// blocks until the membership converged), until one round agrees or the timeout passes.
    final class StartupWatch: Sendable {
        private final class State: Sendable {
            let rounds = Mutex<(last: LedgerRounds.Verdict?, result: LedgerRounds.Summary?)>((nil, nil))
            let cancelled = Atomic<Bool>(false)
        }
        private let state = State()

        init(ports: [UInt16], nodes: Set<String>, timeout: Double) {
            let state = self.state
            Thread {
                let summary = LedgerRounds.poll(ports: ports, pause: 0.2, timeout: timeout,
                                                wanted: { LicensedIdle.isComplete($0, nodes: nodes) },
                                                progress: { verdict in state.rounds.withLock { $0.last = verdict } },
                                                stop: { state.cancelled.load(ordering: .relaxed) })
                state.rounds.withLock { $0.result = summary }
            }.start()
        }

        var last: LedgerRounds.Verdict? { state.rounds.withLock { $0.last } }
        var result: LedgerRounds.Summary? { state.rounds.withLock { $0.result } }

        /// Stops polling (at the end of the round under way) and waits for the thread's summary.
        @discardableResult
        func stop() -> LedgerRounds.Summary? {
            state.cancelled.store(true, ordering: .relaxed)
            _ = waitUntil(timeout: 30) { self.result != nil }
            return result
        }
    }

    /// Waits for the start-up watch and every agent's `holding` line (at most `timeout` seconds from the
    /// first spawn), printing progress every 10 s.
    static func measureStartup(_ cluster: AgentCluster, ports: [UInt16], watch: StartupWatch, timeout: Double,
                               log: (String) -> Void) -> Startup {
        let spawned = cluster.agents[0].spawnedAtMilliseconds
        let deadline = spawned / 1000 + timeout
        func holding() -> [Double] { cluster.agents.compactMap { $0.events("holding").first?.atMilliseconds } }
        var lastLog = MonotonicSeconds.now()
        while watch.result == nil || holding().count < cluster.agents.count {
            if MonotonicSeconds.now() >= deadline { break }
            if MonotonicSeconds.now() - lastLog >= 10 {
                lastLog = MonotonicSeconds.now()
                let verdict = watch.last.map(describe) ?? "no round finished yet"
                log("  \(formatFixed((MonotonicSeconds.milliseconds() - spawned) / 1000, 0)) s after spawn: "
                    + "\(holding().count)/\(cluster.agents.count) agents holding; ledgers: \(verdict)")
            }
            usleep(50_000)
        }
        let rounds = watch.stop() ?? LedgerRounds.Summary(rounds: 0, medianRoundSeconds: 0, last: nil, agreedAtMilliseconds: nil)
        let held = holding()
        let terms = cluster.agents.prefix(servers).flatMap { agent in
            agent.events("authority").filter { $0.fields["self"] == "true" }.map {
                "\($0.fields["epoch"] ?? "?") by \(agent.idText) at \(formatFixed(($0.atMilliseconds - spawned) / 1000, 2)) s"
            }
        }
        var counts: [String: Int] = [:]
        for name in notableEvents {
            let count = cluster.agents.reduce(0) { $0 + $1.count(name) }
            if count > 0 { counts[name] = count }
        }
        func line(_ event: AgentEvent) -> String {
            let fields = event.fields.filter { !["event", "node", "at_ms"].contains($0.key) }.sorted { $0.key < $1.key }
            let seconds = formatFixed((event.atMilliseconds - spawned) / 1000, 2)
            return "\(seconds) s \(event.fields["node"] ?? "?") \(event.name) " + fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        let rare = cluster.agents.flatMap { agent in rareEvents.flatMap { agent.events($0) } }
            .sorted { $0.atMilliseconds < $1.atMilliseconds }.prefix(30).map(line)
        var incarnations: [String: Int] = [:]
        if let port = ports.last, let members = try? AgentAPIClient(address: .loopbackV4(port: port), timeout: .seconds(5)).members() {
            for member in members.members { incarnations["\(member.incarnation)", default: 0] += 1 }
        }
        return Startup(membershipSeconds: cluster.convergenceSeconds,
                       allHoldingSeconds: held.count == cluster.agents.count ? held.max().map { ($0 - spawned) / 1000 } : nil,
                       agentsHolding: held.count, ledgers: rounds.measured(from: spawned), termsStarted: terms, events: counts, rareEvents: Array(rare),
                       incarnations: incarnations)
    }

    // MARK: - Authority kill

    static func killAuthority(_ cluster: AgentCluster, setup: Setup, timeout: Double, log: (String) -> Void) throws -> Takeover {
        let ports = setup.ports
        let reports = LedgerRounds.round(ports)
        let authorities = Set(reports.map { $0?.authority })
        guard authorities.count == 1, let authorityText = authorities.first ?? nil,
              let victimIndex = cluster.agents.firstIndex(where: { $0.idText == authorityText }) else {
            throw BenchmarkError("licensed idle: the agents do not agree on one authority before the kill (they name \(authorities))")
        }
        let victim = cluster.agents[victimIndex]
        let epochBefore = reports.first??.epoch ?? "?"
        // The validating replica: the last node, never a server.
        let observer = cluster.agents.count - 1
        let client = LicensedTakeover.ClientLoop(port: ports[observer], cores: coresPerNode, acquires: false)
        defer { client.stop() }
        _ = waitUntil(timeout: 5) { client.collected.count >= 20 }
        let refusedBefore = client.collected.filter { !$0.succeeded }.count
        if refusedBefore > 0 { log("  note: \(refusedBefore) validation(s) at the observer failed before the kill") }

        let survivors = cluster.agents.indices.filter { $0 != victimIndex }
        let candidates = survivors.filter { $0 < servers }
        let killedAt = MonotonicSeconds.milliseconds()
        victim.process.signal(SIGKILL)
        victim.process.waitForExit(timeout: 10)
        log("  killed the authority \(victim.idText) (epoch \(epochBefore)); polling the surviving servers every 20 ms")

        // 1. A surviving server says it is the authority.
        var newAuthority: String?
        var polledAt: Double?
        while newAuthority == nil, MonotonicSeconds.milliseconds() - killedAt < timeout * 1000 {
            for index in candidates {
                let api = AgentAPIClient(address: .loopbackV4(port: ports[index]), timeout: .seconds(2))
                if let report = try? api.get("/v1/authority", as: AuthorityReport.self), report.isAuthority {
                    newAuthority = report.node
                    polledAt = MonotonicSeconds.milliseconds()
                    break
                }
            }
            if newAuthority == nil { usleep(20_000) }
        }

        // 2. Every survivor names it and the ledgers are equal.
        let survivorPorts = survivors.map { ports[$0] }
        var rounds: LedgerRounds.Summary?
        if let newAuthority {
            let left = max(1, timeout - (MonotonicSeconds.milliseconds() - killedAt) / 1000)
            rounds = LedgerRounds.poll(ports: survivorPorts, pause: 0.02, timeout: left, wanted: { $0.authority == newAuthority })
                .measured(from: killedAt)
        }
        let validationEnd = rounds?.agreedAtMilliseconds ?? MonotonicSeconds.milliseconds()
        let validations = client.collected.filter { $0.kind == .validate && $0.sentMilliseconds >= killedAt && $0.sentMilliseconds <= validationEnd }
        client.stop()

        // What the agents printed: the new authority's own event, and each survivor learning of it.
        let authorityEvent = newAuthority.flatMap { id in
            cluster.agents.first { $0.idText == id }?.events("authority")
                .first { $0.fields["self"] == "true" && $0.atMilliseconds >= killedAt.rounded(.down) }
        }
        let learned = survivors.compactMap { index in
            cluster.agents[index].events("authority").first {
                $0.fields["authority"] == newAuthority && $0.atMilliseconds >= killedAt.rounded(.down)
            }?.atMilliseconds
        }
        func seconds(_ stamp: Double?) -> Double? { stamp.map { ($0 - killedAt) / 1000 } }

        var takeover = Takeover(
            victim: victim.idText, epochBefore: epochBefore, newAuthority: newAuthority, newEpoch: authorityEvent?.fields["epoch"],
            survivors: survivors.count, authorityPolledSeconds: seconds(polledAt),
            authorityEventSeconds: seconds(authorityEvent?.atMilliseconds),
            knownEverywhereSeconds: learned.count == survivors.count ? seconds(learned.max()) : nil, survivorsKnowing: learned.count,
            ledgers: rounds,
            validations: Validations(node: cluster.agents[observer].idText, attempted: validations.count,
                                     failed: validations.filter { !$0.succeeded }.count,
                                     slowestMilliseconds: validations.map { $0.answeredMilliseconds - $0.sentMilliseconds }.max()),
            reclaim: nil)
        log("  " + describe(takeover))

        // 3. The victim's grant returns to the pool after the grace period; every replica must hold that change.
        guard let newAuthority, let authorityIndex = cluster.agents.firstIndex(where: { $0.idText == newAuthority }) else { return takeover }
        log("  waiting for the dead authority's grant to return to the pool (dead grace period 30 s)")
        let authorityAPI = AgentAPIClient(address: .loopbackV4(port: ports[authorityIndex]), timeout: .seconds(2))
        func victimReleased(_ report: LedgerReport) -> Bool {
            (report.ledger.first { $0.node == victim.idText }?.cores ?? 0) == 0
        }
        var reclaimedAt: Double?
        while reclaimedAt == nil, MonotonicSeconds.milliseconds() - killedAt < (timeout + 30) * 1000 {
            if let report = try? authorityAPI.ledger(), victimReleased(report) { reclaimedAt = MonotonicSeconds.milliseconds() }
            else { usleep(20_000) }
        }
        guard let reclaimedAt else { return takeover }
        let reclaim = Reclaim(returnedSeconds: (reclaimedAt - killedAt) / 1000,
                              replicas: LedgerRounds.poll(ports: survivorPorts, pause: 0.02, timeout: timeout, wanted: victimReleased)
                                .measured(from: reclaimedAt))
        takeover.reclaim = reclaim
        log("  victim's grant returned \(formatFixed(reclaim.returnedSeconds, 1)) s after the kill; every replica held it "
            + (reclaim.replicas.agreedAfterSeconds.map { formatFixed($0, 2) + " s later" }
               ?? "not within \(Int(timeout)) s: \(reclaim.replicas.last.map(describe) ?? "-")"))
        return takeover
    }

    // MARK: - Text

    static func describe(_ verdict: LedgerRounds.Verdict) -> String {
        "\(verdict.distinctLedgers) distinct, \(verdict.notAsWanted) not as wanted, \(verdict.unanswered) unanswered"
    }

    static func describe(_ takeover: Takeover) -> String {
        func s(_ value: Double?) -> String { value.map { formatFixed($0, 3) + " s" } ?? "-" }
        return "new authority \(takeover.newAuthority ?? "none") (epoch \(takeover.newEpoch ?? "?")): polled \(s(takeover.authorityPolledSeconds)) "
            + "after the kill (its own event \(s(takeover.authorityEventSeconds))), known at \(takeover.survivorsKnowing)/\(takeover.survivors) "
            + "survivors by \(s(takeover.knownEverywhereSeconds)), ledgers equal \(s(takeover.ledgers?.agreedAfterSeconds)); "
            + "validations at \(takeover.validations.node): \(takeover.validations.attempted), failed \(takeover.validations.failed), "
            + "slowest \(takeover.validations.slowestMilliseconds.map { formatFixed($0, 1) + " ms" } ?? "-")"
    }

    static func table(_ figures: Figures) -> String {
        func s(_ value: Double?) -> String { value.map { formatFixed($0, 2) + " s" } ?? "not within the timeout" }
        let startup = figures.startup
        var rows = [["licensed (\(figures.servers) servers, \(figures.coresPerNode) cores per node, limit \(figures.maxCores))", ""]]
        rows.append(["spawn -> membership converged", s(startup.membershipSeconds)])
        rows.append(["spawn -> every agent holding its cores (\(startup.agentsHolding) holding)", s(startup.allHoldingSeconds)])
        rows.append(["spawn -> every ledger equal and complete (\(startup.ledgers.rounds) rounds, median "
                     + formatFixed(startup.ledgers.medianRoundSeconds * 1000, 0) + " ms)", s(startup.ledgers.agreedAfterSeconds)])
        if let takeover = figures.takeover {
            rows.append(["authority kill -> a survivor says it is the authority (20 ms polls)", s(takeover.authorityPolledSeconds)])
            rows.append(["authority kill -> the new authority's own event", s(takeover.authorityEventSeconds)])
            rows.append(["authority kill -> every survivor printed the new authority", s(takeover.knownEverywhereSeconds)])
            rows.append(["authority kill -> every survivor names it, ledgers equal", s(takeover.ledgers?.agreedAfterSeconds)])
            rows.append(["validations at \(takeover.validations.node) meanwhile (failed)",
                         "\(takeover.validations.attempted) (\(takeover.validations.failed))"])
            rows.append(["authority kill -> the victim's grant returned", s(takeover.reclaim?.returnedSeconds)])
            rows.append(["  then -> every replica holds that change", s(takeover.reclaim?.replicas.agreedAfterSeconds)])
        }
        var text = TextFormat.table(rows)
        if let problem = figures.takeoverProblem { text += "\n  authority kill not measured: \(problem)" }
        return text
    }

    /// What happened during start-up besides the figures: terms, events of note, incarnations.
    static func startupNotes(_ startup: Startup) -> String {
        var lines = ["  terms started: " + startup.termsStarted.joined(separator: ", "),
                     "  event lines at start-up, all agents: " + startup.events.sorted { $0.key < $1.key }
                        .map { "\($0.key) \($0.value)" }.joined(separator: ", "),
                     "  members by incarnation (at the last agent): " + startup.incarnations.sorted { $0.key < $1.key }
                        .map { "\($0.key): \($0.value)" }.joined(separator: ", ")]
        lines += startup.rareEvents.map { "    " + $0 }
        return lines.joined(separator: "\n")
    }
}

/// Rounds of `GET /v1/ledger` over agents' local APIs, one agent after another.
enum LedgerRounds {
    struct Verdict: Codable, Sendable {
        var replicas: Int
        var unanswered: Int
        var distinctLedgers: Int
        /// Replicas that answered but not as wanted (an incomplete ledger, another authority...).
        var notAsWanted: Int
        var agreed: Bool { unanswered == 0 && distinctLedgers == 1 && notAsWanted == 0 }
    }

    struct Summary: Codable, Sendable {
        var rounds: Int
        var medianRoundSeconds: Double
        /// The agreeing round's verdict, or the last one's before the timeout.
        var last: Verdict?
        /// The end of the first agreeing round (CLOCK_MONOTONIC ms); nil if none did.
        var agreedAtMilliseconds: Double?
        /// Seconds from what the rounds measure from (a spawn, a kill) to that end.
        var agreedAfterSeconds: Double?

        func measured(from milliseconds: Double) -> Summary {
            var copy = self
            copy.agreedAfterSeconds = agreedAtMilliseconds.map { ($0 - milliseconds) / 1000 }
            return copy
        }
    }

    /// Each agent's ledger report; nil where it did not answer.
    static func round(_ ports: [UInt16]) -> [LedgerReport?] {
        ports.map { try? AgentAPIClient(address: .loopbackV4(port: $0), timeout: .seconds(2)).ledger() }
    }

    static func verdict(_ reports: [LedgerReport?], wanted: (LedgerReport) -> Bool) -> Verdict {
        let answered = reports.compactMap { $0 }
        return Verdict(replicas: reports.count, unanswered: reports.count - answered.count,
                       distinctLedgers: Set(answered.map(\.ledger)).count, notAsWanted: answered.filter { !wanted($0) }.count)
    }

    /// Rounds, `pause` seconds apart, until one agrees (every replica answered, equal, and as `wanted`),
    /// `timeout` seconds pass or `stop` says so.
    static func poll(ports: [UInt16], pause: Double, timeout: Double, wanted: (LedgerReport) -> Bool,
                     progress: (Verdict) -> Void = { _ in }, stop: () -> Bool = { false }) -> Summary {
        let deadline = MonotonicSeconds.now() + timeout
        var durations: [Double] = []
        var last: Verdict?
        while MonotonicSeconds.now() < deadline, !stop() {
            let start = MonotonicSeconds.now()
            let verdict = verdict(round(ports), wanted: wanted)
            durations.append(MonotonicSeconds.now() - start)
            last = verdict
            progress(verdict)
            if verdict.agreed {
                return Summary(rounds: durations.count, medianRoundSeconds: Percentiles(durations).p50 ?? 0, last: verdict,
                               agreedAtMilliseconds: MonotonicSeconds.milliseconds())
            }
            sleepSeconds(pause)
        }
        return Summary(rounds: durations.count, medianRoundSeconds: Percentiles(durations).p50 ?? 0, last: last, agreedAtMilliseconds: nil)
    }
}
