import Testing
import SWIM
import Simulation

/// The observers' arithmetic and the report's rendering.
@Suite struct ReportTests {
    @Test func distributionMedianPercentileAndPeriods() {
        let d = Distribution([4, 1, 3, 2, 10, 6, 7, 8, 9, 5], period: 2)
        #expect(d.count == 10)
        #expect(d.median == 5.5)
        #expect(d.p90 == 9)
        #expect(d.max == 10)
        #expect(d.medianPeriods == 2.75)
        let odd = Distribution([3, 1, 2], period: 1)
        #expect(odd.median == 2 && odd.p90 == 3)
        let empty = Distribution([], period: 1)
        #expect(empty.count == 0 && empty.median == nil)
    }

    @Test func fixedDecimals() {
        #expect(SimulationReport.fixed(1.23456, 3) == "1.235")
        #expect(SimulationReport.fixed(-0.5, 1) == "-0.5")
        #expect(SimulationReport.fixed(2, 0) == "2")
        #expect(SimulationReport.fixed(0.001, 2) == "0.00")
    }

    @Test func reportCountsTrafficAndRendersATable() throws {
        var scenario = Scenario(nodeCount: 12, settings: .local, periods: 50, seed: 3)
        scenario.faults = [Fault(at: .seconds(2), .crash(node: 5))]
        scenario.countEncryptionOverhead = true
        let simulator = try Simulator(scenario)
        simulator.run()
        let report = simulator.report()
        // About one ping and one ack per node per period in a quiet cluster.
        let ping = try #require(report.traffic.first { $0.kind == "ping" })
        #expect(ping.datagramsPerNodePerPeriod > 0.8 && ping.datagramsPerNodePerPeriod < 1.6)
        #expect(ping.datagramBytesPerNodePerPeriod > ping.datagramsPerNodePerPeriod * Double(WireSize.encryptionOverhead))
        #expect(report.detections.map(\.node) == [5])
        let table = report.table()
        #expect(table.contains("crash -> first suspicion"))
        #expect(table.contains(report.traceDigest))
    }
}
