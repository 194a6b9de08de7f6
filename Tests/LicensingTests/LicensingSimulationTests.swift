import Testing
import SWIM
import Licensing
import Simulation

/// The licensing layer on top of SWIM in the deterministic simulator, with the invariants of
/// ../shared/DESIGN.md checked after every simulated event.
@Suite struct LicensingSimulationTests {
    func scenario(nodes: Int, servers: Int, maxCores: Int, cores: Int = 2, periods: Int, seed: UInt64,
                  settings: Settings = .lan, policy: PartitionPolicy? = nil) -> Scenario {
        Self.scenario(nodes: nodes, servers: servers, maxCores: maxCores, cores: cores, periods: periods, seed: seed, settings: settings, policy: policy)
    }

    static func scenario(nodes: Int, servers: Int, maxCores: Int, cores: Int = 2, periods: Int, seed: UInt64,
                         settings: Settings = .lan, policy: PartitionPolicy? = nil) -> Scenario {
        var s = Scenario(nodeCount: nodes, settings: settings, periods: periods, seed: seed)
        var licensing = LicensingScenario(servers: servers, maxCores: maxCores, coresPerNode: cores, policy: policy)
        licensing.clients = [nodes - 1]
        s.licensing = licensing
        return s
    }

    @Test func authorityCrashIsTakenOverQuicklyAndNobodyNotices() throws {
        var s = scenario(nodes: 10, servers: 3, maxCores: 40, periods: 30, seed: 1)
        s.faults = [Fault(at: .seconds(10), .crash(node: 0))]
        let simulator = try Simulator(s)
        simulator.run()
        let report = simulator.report()
        let licensing = try #require(report.licensing)
        let takeover = try #require(licensing.takeovers.first)
        #expect(takeover.authorityNode == 0)
        let served = try #require(takeover.firstServedAfter, "a new authority served the client")
        let detection = try #require(report.detections.first?.firstDead)
        #expect(served <= detection + s.settings.probeInterval.seconds,
                "served after \(served) s; detection took \(detection) s")
        #expect(takeover.newAuthorityNode == 1)
        #expect(licensing.failedValidations == 0)
        #expect(licensing.validations > 1_000)
        #expect(licensing.invariantViolations == 0)
        #expect(licensing.ledgersConverged)
        // Every live node still holds its cores.
        for node in simulator.liveNodes { #expect(simulator.licensing(node)?.ownGrant?.cores == 2) }
    }

    @Test func theLimitHoldsAndTheFieldMessageIsGiven() throws {
        var s = scenario(nodes: 6, servers: 3, maxCores: 9, periods: 20, seed: 3)
        s.licensing?.unlistedNodes = [4]
        let simulator = try Simulator(s)
        simulator.run()
        let licensing = try #require(simulator.report().licensing)
        #expect(licensing.maxHeldCores == 8, "four of the five listed nodes fit in 9 cores")
        let refusals = simulator.licensingRecords.compactMap { record -> String? in
            if case .requestSettled(_, .refused(let refusal)) = record.event.kind { "\(record.node): \(refusal)" } else { nil }
        }
        #expect(refusals.contains { $0.contains("CPU limit exhausted. Can't allocate more CPUs.") }, "\(refusals.prefix(3)) \(simulator.liveNodes.map { simulator.licensing($0)?.ownGrant?.cores ?? -1 })")
        #expect(refusals.contains { $0.hasPrefix("4: Invalid license for multi-server environment setup.") })
        #expect(licensing.invariantViolations == 0)
    }

    /// Many seeds of crashes, restarts, joins, leaves and 5 % loss: cores held by live nodes never
    /// exceed the limit, and no live node loses its grant.
    @Test func randomChurnNeverOverAllocates() async throws {
        // Two hundred runs, off Swift's cooperative pool so that async tests alongside are not starved.
        let reports = try await runOffThePool { try (UInt64(1)...200).map { try Self.churnRun(seed: $0) } }
        var violations: [String] = []
        for (seed, licensing) in zip(1..., reports)
        where licensing.overLimitSteps > 0 || licensing.lostGrants > 0 || licensing.failedValidations > 0 {
            violations.append("seed \(seed): over-limit steps \(licensing.overLimitSteps), lost grants \(licensing.lostGrants), failed validations \(licensing.failedValidations)")
        }
        #expect(violations.isEmpty, "\(violations.prefix(5))")
        #expect(reports.contains { !$0.takeovers.compactMap(\.firstServedAfter).isEmpty })
    }

    /// Crashes, restarts, joins and leaves on 6 to 10 nodes with 5 % loss.
    static func churnRun(seed: UInt64) throws -> LicensingReport {
        var random = SeededGenerator(seed: seed)
        let nodes = 6 + random.below(5)
        var s = scenario(nodes: nodes, servers: 3, maxCores: 2 * nodes - 3, periods: 60, seed: seed, settings: .local)
        s.network.link.loss = 0.05
        var faults: [Fault] = []
        var downOrGone: Set<Int> = []
        for _ in 0..<4 {
            let node = random.below(nodes)
            let at = Duration.milliseconds(Int64(1_000 + random.below(8_000)))
            switch random.below(4) {
            case 0 where !downOrGone.contains(node):
                faults.append(Fault(at: at, .crash(node: node)))
                if random.chance(0.5) { faults.append(Fault(at: at + .seconds(2), .restart(node: node))) } else { downOrGone.insert(node) }
            case 1 where !downOrGone.contains(node):
                faults.append(Fault(at: at, .leave(node: node)))
                downOrGone.insert(node)
            case 2:
                faults.append(Fault(at: at, .restart(node: node)))
            default:
                break
            }
        }
        s.faults = faults
        let simulator = try Simulator(s)
        simulator.run()
        guard let report = simulator.report().licensing else { throw ScenarioError("no licensing report") }
        return report
    }

    @Test func partitionsUnderMajorityNeverOverAllocateAndLedgersConvergeAfterHeal() throws {
        for seed in UInt64(1)...40 {
            var random = SeededGenerator(seed: seed &+ 1000)
            var s = scenario(nodes: 7, servers: 3, maxCores: 10, periods: 80, seed: seed, settings: .local, policy: .majority)
            s.licensing?.clients = [5, 6]
            let side = (0..<7).filter { _ in random.chance(0.5) }
            let start = Duration.milliseconds(Int64(2_000 + random.below(3_000)))
            s.faults = [Fault(at: start, .partition(Partition(side: side.isEmpty ? [0] : side), until: start + .seconds(5)))]
            let simulator = try Simulator(s)
            simulator.run()
            let licensing = try #require(simulator.report().licensing)
            #expect(licensing.overLimitSteps == 0, "seed \(seed)")
            #expect(licensing.ledgersConverged, "seed \(seed)")
        }
    }

    @Test func partitionsUnderAvailableStayWithinTheDocumentedExcessAndResolve() throws {
        for seed in UInt64(1)...20 {
            var s = scenario(nodes: 6, servers: 2, maxCores: 8, periods: 100, seed: seed, settings: .local)
            s.licensing?.clients = [4, 5]
            // Each side has one server; the clients on both sides keep asking for more.
            s.faults = [Fault(at: .seconds(3), .partition(Partition(side: [0, 2, 4]), until: .seconds(8)))]
            let simulator = try Simulator(s)
            simulator.run()
            let licensing = try #require(simulator.report().licensing)
            #expect(licensing.policy == "available")
            // Documented bound: each extra side may grant at most the cores free when the partition began.
            #expect(licensing.maxExcess <= 8, "seed \(seed)")
            #expect(licensing.ledgersConverged, "seed \(seed)")
            let held = simulator.liveNodes.reduce(0) { $0 + (simulator.licensing($1)?.ownGrant?.cores ?? 0) }
            #expect(held <= 8, "seed \(seed): the excess was revoked after the heal")
        }
    }
}
