import Testing
import SWIM
import Simulation

/// Crashes, loss, slowness, partitions, restarts and leaves, each against the claim it must satisfy.
@Suite struct FailureScenarioTests {
    @Test func crashedMemberIsConfirmedDeadEverywhereWithinTheSuspicionTimeoutPlusAFewPeriods() throws {
        var scenario = Scenario(nodeCount: 50, settings: .local, periods: 60, seed: 31)
        scenario.faults = [Fault(at: .seconds(3), .crash(node: 17))]
        let simulator = try Simulator(scenario)
        simulator.run()
        let report = simulator.report()
        let detection = try #require(report.detections.first)
        #expect(report.detections.count == 1 && detection.node == 17)
        #expect(detection.notConfirmedBy == 0)
        let bound = maximumSuspicionTimeout(scenario.settings, clusterSize: 50) + scenario.settings.probeInterval * 5
        let everywhere = try #require(detection.deadEverywhere)
        #expect(everywhere <= bound.seconds, "dead everywhere after \(everywhere) s; bound \(bound)")
        let firstSuspicion = try #require(detection.firstSuspicion)
        let firstDead = try #require(detection.firstDead)
        #expect(firstSuspicion <= firstDead && firstDead <= everywhere)
        #expect(simulator.liveNodes(notSeeing: 17, as: .dead).isEmpty)
        #expect(report.falseDeaths.events == 0)
    }

    @Test func hundredNodesWithFivePercentLossForAThousandPeriodsDeclareNobodyDead() throws {
        var scenario = Scenario(nodeCount: 100, settings: .local, periods: 1_000, seed: 77)
        scenario.network.link.loss = 0.05
        let simulator = try Simulator(scenario)
        simulator.run()
        let report = simulator.report()
        #expect(report.falseDeaths.events == 0, "false deaths: \(report.falseDeaths)")
        #expect(report.network.droppedByLoss > 10_000)
        #expect(report.converged == true)
    }

    @Test func slowNodeDoesNotGetHealthyNodesDeclaredDead() throws {
        var scenario = Scenario(nodeCount: 20, settings: .local, periods: 150, seed: 5)
        // Three times the probe timeout: every ack reaches the slow node too late.
        scenario.faults = [Fault(at: .seconds(2), .slow(node: 4, delay: .milliseconds(300), until: .seconds(25)))]
        let simulator = try Simulator(scenario)
        simulator.run()
        let healthyDeclaredDead = simulator.records.filter { record in
            guard case .confirmedDead(let member, _) = record.event.kind else { return false }
            return member.id != NodeNaming.id(of: 4)
        }
        #expect(healthyDeclaredDead.isEmpty, "\(healthyDeclaredDead.prefix(5))")
        // The slow node did accuse others (so the test exercises Lifeguard), and raised its local health.
        let suspicionsBySlowNode = simulator.records.filter { record in
            if case .suspected(_, let by) = record.event.kind { return by == NodeNaming.id(of: 4) }
            return false
        }
        #expect(!suspicionsBySlowNode.isEmpty)
    }

    /// Issue 6's starved agent, with the default profile: everything reaches node 4 two seconds late for
    /// twenty seconds. It is the one declared dead (it cannot answer in time); no healthy node is, not
    /// even by node 4 itself, whose suspicion timeouts stretch with its local health.
    @Test func starvedNodeUnderTheDefaultProfileGetsNoHealthyNodeDeclaredDead() throws {
        var scenario = Scenario(nodeCount: 30, settings: .lan, periods: 200, seed: 2)
        scenario.faults = [Fault(at: .seconds(10), .slow(node: 4, delay: .seconds(2), until: .seconds(30)))]
        let simulator = try Simulator(scenario)
        simulator.run()
        let healthyDeclaredDead = simulator.records.filter { record in
            guard case .confirmedDead(let member, _) = record.event.kind else { return false }
            return member.id != NodeNaming.id(of: 4)
        }
        #expect(healthyDeclaredDead.isEmpty, "\(healthyDeclaredDead.prefix(5))")
        #expect((simulator.instance(4)?.localHealth ?? 0) > 0 || simulator.records.contains { record in
            if case .confirmedDead(let member, _) = record.event.kind { member.id == NodeNaming.id(of: 4) } else { false }
        })
    }

    @Test func twoWayPartitionHealsAndMembershipReconvergesThroughPushPull() throws {
        var scenario = Scenario(nodeCount: 20, settings: .local, periods: 200, seed: 9)
        scenario.faults = [Fault(at: .seconds(2), .partition(Partition(side: Array(0..<10)), until: .seconds(12)))]
        let simulator = try Simulator(scenario)
        simulator.run(until: .zero + .seconds(12))
        // Each side has given up on the other by the time the partition heals.
        #expect(simulator.instance(0)?.member(NodeNaming.id(of: 15))?.state == .dead)
        #expect(simulator.instance(15)?.member(NodeNaming.id(of: 0))?.state == .dead)
        #expect(!simulator.isConverged())
        // The partition made false accusations, and the observer counted them.
        #expect(simulator.report().falseDeaths.members > 0)
        // Every few push-pull rounds each node tries one member it holds dead: that heals the cut.
        let converged = simulator.runUntilConverged(within: .seconds(40))
        #expect(converged != nil)
    }

    @Test func shortPartitionHealsWithoutDeaths() throws {
        var scenario = Scenario(nodeCount: 20, settings: .local, periods: 100, seed: 9)
        // Two probe intervals: members get suspected across the cut, then refute once it heals.
        scenario.faults = [Fault(at: .seconds(2), .partition(Partition(side: Array(0..<10)), until: .seconds(2.4)))]
        let simulator = try Simulator(scenario)
        simulator.run(until: .zero + .seconds(2.4))
        let converged = simulator.runUntilConverged(within: .seconds(10))
        #expect(converged != nil)
        #expect(simulator.report().falseDeaths.events == 0)
    }

    @Test func crashedNodeRestartsAndIsAliveAgainEverywhere() throws {
        var scenario = Scenario(nodeCount: 30, settings: .local, periods: 150, seed: 12)
        scenario.faults = [Fault(at: .seconds(2), .crash(node: 6)), Fault(at: .seconds(10), .restart(node: 6))]
        let simulator = try Simulator(scenario)
        simulator.run(until: .zero + .seconds(10))
        #expect(simulator.liveNodes(notSeeing: 6, as: .dead).isEmpty)
        let converged = simulator.runUntilConverged(within: .seconds(20))
        #expect(converged != nil)
        let deadIncarnation = simulator.lives(of: 6).first?.finalIncarnation ?? 0
        #expect((simulator.instance(6)?.myself.incarnation ?? 0) > deadIncarnation)
        #expect(simulator.report().falseDeaths.events == 0)
    }

    @Test func gracefulLeaveIsNeverSuspected() throws {
        var scenario = Scenario(nodeCount: 30, settings: .local, periods: 100, seed: 21)
        scenario.faults = [Fault(at: .seconds(3), .leave(node: 8))]
        let simulator = try Simulator(scenario)
        simulator.run()
        #expect(simulator.accusations(of: 8).isEmpty)
        #expect(simulator.status(of: 8) == .stopped)
        #expect(simulator.liveNodes(notSeeing: 8, as: .left).isEmpty)
        #expect(simulator.isConverged())
    }
}
