import Testing
import SWIM
import Simulation

/// The command line's fault notation.
@Suite struct FaultSpecTests {
    let second = Duration.seconds(1)

    @Test func nodeListsAcceptRangesAndSingles() throws {
        #expect(try FaultSpec.nodes("0-3,7,9-10", nodeCount: 20) == [0, 1, 2, 3, 7, 9, 10])
        #expect(try FaultSpec.nodes("5", nodeCount: 6) == [5])
    }

    @Test(arguments: ["", "1-", "a", "3-1", "0-20", "-1", "1,,2", "1-2-3"])
    func badNodeListsAreRejected(_ text: String) {
        #expect(throws: FaultSpecError.self) { try FaultSpec.nodes(text, nodeCount: 20) }
    }

    @Test func partitionWithTwoGroupsAndAWindow() throws {
        let fault = try FaultSpec.partition("0-1|2-3@30-60", oneWay: false, nodeCount: 10, probeInterval: second)
        #expect(fault == Fault(at: .seconds(30), .partition(Partition(side: [0, 1], otherSide: [2, 3]), until: .seconds(60))))
    }

    @Test func partitionAgainstEveryoneElseUntilTheEnd() throws {
        let fault = try FaultSpec.partition("4@12.5", oneWay: true, nodeCount: 10, probeInterval: .milliseconds(200))
        #expect(fault == Fault(at: .milliseconds(2500), .partition(Partition(side: [4], oneWay: true), until: nil)))
    }

    @Test(arguments: ["0-4", "0-4|5-9", "0-4|3-9@1-2", "0-4|5|6@1", "0-4@5-1", "0-4@x", "0-4@"])
    func badPartitionsAreRejectedWithTheReason(_ text: String) {
        #expect(throws: FaultSpecError.self) {
            try FaultSpec.partition(text, oneWay: false, nodeCount: 10, probeInterval: .seconds(1))
        }
    }

    @Test func slowNodeWithAndWithoutWindow() throws {
        #expect(try FaultSpec.slow("3:250", nodeCount: 5, probeInterval: second)
            == Fault(at: .zero, .slow(node: 3, delay: .milliseconds(250), until: nil)))
        #expect(try FaultSpec.slow("3:1.5@10-20", nodeCount: 5, probeInterval: second)
            == Fault(at: .seconds(10), .slow(node: 3, delay: .microseconds(1500), until: .seconds(20))))
    }

    @Test(arguments: ["3", "3:", ":5", "9:100", "3:-1", "3:100@", "3:100@1@2", "x:1"])
    func badSlowSpecsAreRejected(_ text: String) {
        #expect(throws: FaultSpecError.self) { try FaultSpec.slow(text, nodeCount: 5, probeInterval: .seconds(1)) }
    }
}
