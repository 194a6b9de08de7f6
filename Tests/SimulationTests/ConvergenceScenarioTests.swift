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
