import Testing
import SWIM
import Simulation

/// Clusters that join from nothing through the seeds end up with everyone alive everywhere.
@Suite struct ConvergenceScenarioTests {
    @Test(arguments: [(5, 20), (50, 40), (500, 60)])
    func clusterConvergesFromOneSeed(nodes: Int, withinPeriods: Int) throws {
        var scenario = Scenario(nodeCount: nodes, settings: .local, periods: 200, seed: 2024)
        scenario.start = .joining
        scenario.seedNodes = [0]
        let simulator = try Simulator(scenario)
        let converged = simulator.runUntilConverged(within: scenario.settings.probeInterval * withinPeriods)
        #expect(converged != nil, "\(nodes) nodes not converged after \(withinPeriods) periods")
        #expect(simulator.liveNodes.count == nodes)
        for node in [0, nodes / 2, nodes - 1] {
            #expect(simulator.instance(node)?.activeMemberCount == nodes)
            #expect(simulator.instance(node)?.isJoined == true)
        }
        let report = simulator.report()
        #expect(report.falseDeaths.events == 0)
    }
}

@Suite struct LateJoinTests {
    @Test func nodeJoiningLaterBecomesAliveEverywhere() throws {
        var scenario = Scenario(nodeCount: 25, settings: .local, periods: 100, seed: 8)
        scenario.faults = [Fault(at: .seconds(4), .join(node: 24))]
        let simulator = try Simulator(scenario)
        simulator.run(until: .zero + .seconds(3))
        #expect(simulator.status(of: 24) == .absent)
        #expect(simulator.isConverged())  // the 24 that are there
        #expect(simulator.instance(0)?.member(NodeNaming.id(of: 24)) == nil)
        simulator.run(until: .zero + .seconds(4))
        let converged = simulator.runUntilConverged(within: .seconds(10))
        #expect(converged != nil)
        #expect(simulator.liveNodes.count == 25)
        #expect(simulator.instance(24)?.activeMemberCount == 25)
    }
}
