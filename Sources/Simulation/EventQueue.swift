import SWIM

/// A priority queue of timed events for the simulator: earliest time first, and among events at the
/// same time, the one pushed first. That second key is what makes a run reproducible: a plain heap
/// breaks ties arbitrarily, and the order in which simultaneous messages arrive changes what happens.
///
/// The heap holds only small keys (time, sequence, slot); payloads sit in a slab whose slots are
/// reused, so a long run does not allocate per event once the queue has reached its working size,
/// and sifting moves 24 bytes rather than whole messages.
public struct EventQueue<Payload> {
    struct Key {
        var time: Int64
        var sequence: UInt64
        var slot: Int32

        @inline(__always)
        func precedes(_ other: Key) -> Bool {
            time != other.time ? time < other.time : sequence < other.sequence
        }
    }

    private var heap: [Key] = []
    private var payloads: [Payload?] = []
    private var freeSlots: [Int32] = []
    private var nextSequence: UInt64 = 0

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }

    /// Events pushed so far (including those already popped).
    public var pushedCount: UInt64 { nextSequence }

    /// The time of the next event, if any.
    public var nextTime: Instant? {
        heap.first.map { Instant(nanoseconds: $0.time) }
    }

    public mutating func push(_ payload: Payload, at time: Instant) {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            payloads[Int(free)] = payload
        } else {
            slot = Int32(truncatingIfNeeded: payloads.count)
            payloads.append(payload)
        }
        heap.append(Key(time: time.nanoseconds, sequence: nextSequence, slot: slot))
        nextSequence &+= 1
        siftUp(heap.count - 1)
    }

    /// Removes and returns the earliest event.
    public mutating func pop() -> (time: Instant, payload: Payload)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        let slot = Int(top.slot)
        guard let payload = payloads[slot].take() else { return nil }
        freeSlots.append(top.slot)
        return (Instant(nanoseconds: top.time), payload)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        let key = heap[child]
        while child > 0 {
            let parent = (child - 1) / 2
            guard key.precedes(heap[parent]) else { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = key
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let key = heap[parent]
        let count = heap.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            let right = left + 1
            let child = right < count && heap[right].precedes(heap[left]) ? right : left
            guard heap[child].precedes(key) else { break }
            heap[parent] = heap[child]
            parent = child
        }
        heap[parent] = key
    }
}
