import Testing
import SWIM
@testable import Simulation

@Suite struct EventQueueTests {
    @Test func popsInTimeOrder() {
        var queue = EventQueue<Int>()
        for (value, time) in [(1, 30), (2, 10), (3, 20), (4, 5)] {
            queue.push(value, at: Instant(nanoseconds: Int64(time)))
        }
        var popped: [Int] = []
        while let next = queue.pop() { popped.append(next.payload) }
        #expect(popped == [4, 2, 3, 1])
        #expect(queue.isEmpty)
    }

    @Test func breaksTiesByInsertionOrder() {
        var queue = EventQueue<Int>()
        for value in 0..<100 { queue.push(value, at: Instant(nanoseconds: 7)) }
        var popped: [Int] = []
        while let next = queue.pop() { popped.append(next.payload) }
        #expect(popped == Array(0..<100))
    }

    /// Interleaved pushes and pops against a sorted reference: the order is (time, insertion).
    @Test func matchesASortedReferenceUnderRandomUse() {
        var random = SeededGenerator(seed: 42)
        var queue = EventQueue<Int>()
        var reference: [(time: Int64, sequence: Int)] = []
        var sequence = 0
        var popped: [Int] = []
        var expected: [Int] = []
        for _ in 0..<4_000 {
            if random.below(3) > 0 || reference.isEmpty {
                let time = Int64(random.below(500))
                queue.push(sequence, at: Instant(nanoseconds: time))
                reference.append((time, sequence))
                sequence += 1
            } else {
                let index = reference.indices.min { (reference[$0].time, reference[$0].sequence) < (reference[$1].time, reference[$1].sequence) }!
                expected.append(reference.remove(at: index).sequence)
                if let next = queue.pop() { popped.append(next.payload) }
            }
        }
        #expect(popped == expected)
        #expect(queue.count == reference.count)
    }

    @Test func reportsNextTimeAndCounts() {
        var queue = EventQueue<String>()
        #expect(queue.nextTime == nil)
        queue.push("b", at: Instant(nanoseconds: 9))
        queue.push("a", at: Instant(nanoseconds: 3))
        #expect(queue.nextTime == Instant(nanoseconds: 3))
        #expect(queue.count == 2)
        #expect(queue.pop()?.payload == "a")
        queue.push("c", at: Instant(nanoseconds: 1))  // reuses the freed slot
        #expect(queue.pop()?.payload == "c")
        #expect(queue.pop()?.payload == "b")
        #expect(queue.pop() == nil)
        #expect(queue.pushedCount == 3)
    }
}
