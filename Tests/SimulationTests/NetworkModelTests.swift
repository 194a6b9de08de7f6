import Testing
import SWIM
@testable import Simulation

/// The simulated network on its own terms: loss, duplication, delay, partitions, crashes.
@Suite struct NetworkModelTests {
    func scenario(nodes: Int = 10, periods: Int, seed: UInt64 = 11) -> Scenario {
        Scenario(nodeCount: nodes, settings: .local, periods: periods, seed: seed)
    }

    @Test func lossAndDuplicationRatesAreRoughlyRight() throws {
        var s = scenario(nodes: 20, periods: 300)
        s.network.link.loss = 0.1
        s.network.link.duplication = 0.05
        let simulator = try Simulator(s)
        simulator.run()
        let n = simulator.network
        #expect(n.datagramsSent > 5_000)
        let lossRate = Double(n.droppedByLoss) / Double(n.datagramsSent)
        let duplicationRate = Double(n.duplicated) / Double(n.datagramsSent - n.droppedByLoss)
        #expect(abs(lossRate - 0.1) < 0.02, "loss rate \(lossRate)")
        #expect(abs(duplicationRate - 0.05) < 0.015, "duplication rate \(duplicationRate)")
    }

    @Test func noLossMeansEveryDatagramToAnUpNodeArrives() throws {
        let simulator = try Simulator(scenario(periods: 50))
        simulator.run()
        let n = simulator.network
        #expect(n.droppedByLoss == 0 && n.droppedByPartition == 0 && n.duplicated == 0)
        // Only what is still in flight at the end is missing.
        #expect(n.datagramsSent - n.datagramsDelivered - n.droppedAtDownNode <= simulator.queue.count)
    }

    @Test func datagramDelaysStayWithinLatencyPlusMinusJitter() {
        let model = LinkModel(LinkConditions(latency: .microseconds(500), jitter: .microseconds(200)))
        var random = SeededGenerator(seed: 3)
        var total: Int64 = 0
        for _ in 0..<10_000 {
            let delay = model.datagramDelay(&random)
            #expect(delay >= 300_000 && delay <= 700_000)
            total += delay
        }
        #expect(abs(Double(total) / 10_000 - 500_000) < 5_000)

        let reordering = LinkModel(LinkConditions(latency: .microseconds(500), jitter: .zero, reorder: 0.25, reorderDelay: .milliseconds(2)))
        var held = 0
        for _ in 0..<10_000 where reordering.datagramDelay(&random) > 500_000 { held += 1 }
        #expect(abs(Double(held) / 10_000 - 0.25) < 0.02)
    }

    @Test func twoWayPartitionBlocksBothDirectionsUntilHealed() throws {
        var s = scenario(periods: 60)
        // Shorter than any suspicion timeout, so that traffic across resumes by itself after the heal.
        s.faults = [Fault(at: .seconds(3), .partition(Partition(side: Array(0..<5)), until: .seconds(3.4)))]
        let simulator = try Simulator(s)
        var crossingDuring = 0, crossingAfter = 0, crossingBefore = 0
        simulator.onArrival = { _, from, to, _ in
            guard (from < 5) != (to < 5) else { return }
            let t = simulator.now.seconds
            if t < 3 { crossingBefore += 1 } else if t >= 3.01 && t < 3.4 { crossingDuring += 1 } else if t >= 3.41 { crossingAfter += 1 }
        }
        simulator.run()
        #expect(crossingBefore > 0)
        #expect(crossingDuring == 0)
        #expect(crossingAfter > 0)
        #expect(simulator.network.droppedByPartition > 0)
    }

    @Test func oneWayPartitionBlocksOnlyItsDirection() throws {
        var s = scenario(periods: 40)
        s.faults = [Fault(at: .seconds(2), .partition(Partition(side: Array(0..<5), otherSide: Array(5..<10), oneWay: true), until: .seconds(6)))]
        let simulator = try Simulator(s)
        var forward = 0, backward = 0
        simulator.onArrival = { _, from, to, overStream in
            let t = simulator.now.seconds
            guard t >= 2.01 && t < 6 else { return }
            if from < 5 && to >= 5 { forward += 1 }
            if from >= 5 && to < 5 && !overStream { backward += 1 }
        }
        simulator.run()
        #expect(forward == 0)
        #expect(backward > 0)
    }

    @Test func crashedNodeReceivesNothingAndRestartedNodeDoes() throws {
        var s = scenario(periods: 60)
        s.faults = [Fault(at: .seconds(2), .crash(node: 4)), Fault(at: .seconds(6), .restart(node: 4))]
        let simulator = try Simulator(s)
        var whileDown = 0, afterRestart = 0
        simulator.onArrival = { _, _, to, _ in
            guard to == 4 else { return }
            let t = simulator.now.seconds
            if t >= 2 && t < 6 { whileDown += 1 }
            if t >= 6 { afterRestart += 1 }
        }
        simulator.run(until: .zero + .seconds(4))
        #expect(simulator.status(of: 4) == .crashed)
        #expect(simulator.instance(4) == nil)
        simulator.run()
        #expect(whileDown == 0)
        #expect(afterRestart > 0)
        #expect(simulator.status(of: 4) == .running)
        #expect(simulator.lives(of: 4).count == 2)
        #expect(simulator.lives(of: 4).first?.endedByCrash == true)
    }

    @Test func slowNodeGetsItsMessagesLate() throws {
        var s = scenario(nodes: 2, periods: 30)
        s.network.link.jitter = .zero
        s.faults = [Fault(at: .seconds(1), .slow(node: 1, delay: .milliseconds(50), until: .seconds(4)))]
        let simulator = try Simulator(s)
        // Whatever reaches node 1 from t=1s on is handed over 50 ms later, so nothing is handed over
        // in the first 50 ms of the slow window, though messages keep coming.
        var arrivalsAtSlow: [Double] = []
        simulator.onArrival = { _, _, to, _ in if to == 1 { arrivalsAtSlow.append(simulator.now.seconds) } }
        simulator.run()
        #expect(!arrivalsAtSlow.contains { $0 >= 1.0 && $0 < 1.05 })
        #expect(arrivalsAtSlow.contains { $0 >= 1.05 && $0 < 4.05 })
    }

    @Test func invalidScenariosAreRejectedWithTheField() {
        var s = scenario(periods: 10)
        s.faults = [Fault(at: .seconds(1), .crash(node: 10))]
        #expect { try Simulator(s) } throws: { "\($0)".contains("faults[0]") && "\($0)".contains("0...9") }
        s.faults = []
        s.network.link.loss = 1.5
        #expect { try Simulator(s) } throws: { "\($0)".contains("network.link.loss") }
        s.network.link.loss = 0
        s.settings.probeTimeout = .seconds(5)
        #expect { try Simulator(s) } throws: { "\($0)".contains("probeTimeout") }
    }
}

@Suite struct LinkRuleTests {
    @Test func firstMatchingRuleGovernsALink() throws {
        var s = Scenario(nodeCount: 6, settings: .local, periods: 40, seed: 4)
        // Everything node 0 sends is lost; links into node 5 are 30 ms slow.
        s.network.rules = [LinkRule(from: [0], to: nil, conditions: LinkConditions(loss: 1)),
                           LinkRule(from: nil, to: [5], conditions: LinkConditions(latency: .milliseconds(30), jitter: .zero))]
        let simulator = try Simulator(s)
        var fromZero = 0, intoFive = 0
        simulator.onArrival = { _, from, to, overStream in
            if from == 0 && !overStream { fromZero += 1 }
            if to == 5 { intoFive += 1 }
        }
        simulator.run()
        #expect(fromZero == 0)
        #expect(intoFive > 0)
        #expect(simulator.network.droppedByLoss > 0)
        // Node 0's datagrams never arrive, but its stream answers do: the others fall back to
        // stream pings (memberlist's TCP fallback) and never declare it dead.
        #expect(simulator.traffic.messages(.ping, stream: true) > 0)
        #expect(simulator.traffic.messages(.ack, stream: true) > 0)
        #expect(simulator.liveNodes(notSeeing: 0, as: .dead).count == 5)
    }
}
