import Testing
import SWIM
import Simulation

/// One seed reproduces a run exactly; another seed gives another run.
@Suite struct DeterminismTests {
    func run(seed: UInt64) throws -> Simulator {
        var s = Scenario(nodeCount: 30, settings: .local, periods: 100, seed: seed)
        s.start = .joining
        s.network.link.loss = 0.05
        s.network.link.duplication = 0.01
        s.network.link.reorder = 0.01
        s.faults = [Fault(at: .seconds(5), .crash(node: 7)),
                    Fault(at: .seconds(8), .partition(Partition(side: [1, 2, 3]), until: .seconds(12))),
                    Fault(at: .seconds(14), .restart(node: 7))]
        let simulator = try Simulator(s)
        simulator.run()
        return simulator
    }

    @Test func sameSeedGivesAnIdenticalTrace() throws {
        let a = try run(seed: 5), b = try run(seed: 5)
        #expect(a.records.count > 0)
        #expect(a.records == b.records)
        #expect(a.digest == b.digest)
        #expect(a.network == b.network)
        #expect(a.report() == b.report())
    }

    @Test func differentSeedGivesADifferentTrace() throws {
        let a = try run(seed: 5), b = try run(seed: 6)
        #expect(a.digest != b.digest)
        #expect(a.records != b.records)
    }
}
