import SWIM

/// What a receiver remembers of each sender's sealed packets, so that no packet is accepted twice,
/// from any earlier time: per sender, the newest boot seen and, per channel, a sliding window of the
/// counters seen in that boot. A packet of an earlier boot, a counter seen before, or one too far
/// below the newest (more than `windowSize`) is a replay.
///
/// Unlike a window of recent nonces, a flood of genuine packets cannot push old ones out: the floor
/// only rises. What a receiver forgets on restart it gets back from `floors`, which the agent saves
/// in its data directory (see FORMAT.md, "Replays").
public struct FreshnessTable: Sendable {
    /// Senders remembered; the oldest-inserted is forgotten first beyond it. A cluster has far fewer
    /// members; only a key holder inventing sender IDs can fill it. Memory: about 300 bytes a sender.
    public static let defaultCapacity = 16_384
    /// Counters a packet may trail the newest seen from its sender on its channel. A sender numbers
    /// every packet it sends to anyone, so this bounds reordering at about 960 of its packets.
    public static let windowSize = (CounterWindow.blockCount - 1) * 64

    public enum Verdict: Hashable, Sendable {
        case fresh
        /// Seen before, or older than the window.
        case replayed
        /// From a life of the sender older than the newest seen.
        case earlierLife(newest: UInt64)
    }

    struct CounterWindow: Sendable {
        static let blockCount = 16
        /// Every counter at or below it is rejected (restored from a floor, or 0).
        var floor: UInt64 = 0
        var highest: UInt64 = 0
        var blocks = [UInt64](repeating: 0, count: blockCount)

        /// The ring bitmap of RFC 6479 (as IPsec and WireGuard use): blocks of 64 counters, the
        /// blocks passed over cleared as the highest counter advances.
        mutating func admit(_ counter: UInt64) -> Bool {
            guard counter > floor else { return false }
            let count = UInt64(Self.blockCount)
            if counter > highest {
                let current = highest / 64, target = counter / 64
                let passed = min(target - current, count)
                if passed > 0 {
                    for step in 1...passed { blocks[Int((current + step) % count)] = 0 }
                }
                highest = counter
            } else if highest - counter >= UInt64(FreshnessTable.windowSize) {
                return false
            }
            let block = Int((counter / 64) % count), bit: UInt64 = 1 << (counter % 64)
            guard blocks[block] & bit == 0 else { return false }
            blocks[block] |= bit
            return true
        }
    }

    struct SenderState: Sendable {
        var boot: UInt64
        var datagrams = CounterWindow()
        var streams = CounterWindow()
    }

    public let capacity: Int
    private var senders: [NodeID: SenderState] = [:]
    private var insertionOrder: [NodeID] = []
    private var nextEviction = 0

    public init(capacity: Int = FreshnessTable.defaultCapacity) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { senders.count }

    /// Accepts `stamp` once (recording it) or says why not.
    public mutating func admit(_ stamp: EnvelopeStamp) -> Verdict {
        var state = senders[stamp.sender] ?? SenderState(boot: stamp.boot)
        if stamp.boot < state.boot { return .earlierLife(newest: state.boot) }
        if stamp.boot > state.boot { state = SenderState(boot: stamp.boot) }   // a new life starts counting again
        let fresh = switch stamp.channel {
        case .datagram: state.datagrams.admit(stamp.counter)
        case .stream: state.streams.admit(stamp.counter)
        }
        guard fresh else { return .replayed }
        store(state, for: stamp.sender)
        return .fresh
    }

    private mutating func store(_ state: SenderState, for sender: NodeID) {
        if senders.updateValue(state, forKey: sender) != nil { return }
        if insertionOrder.count < capacity {
            insertionOrder.append(sender)
        } else {
            senders.removeValue(forKey: insertionOrder[nextEviction])
            insertionOrder[nextEviction] = sender
            nextEviction = (nextEviction + 1) % capacity
        }
    }

    /// Per sender, the newest boot and the highest counters seen in it: what a restarted receiver
    /// needs to keep rejecting everything it accepted before.
    public var floors: [SenderFloor] {
        senders.map { SenderFloor(sender: $0.key, boot: $0.value.boot, datagrams: $0.value.datagrams.highest,
                                  streams: $0.value.streams.highest) }
            .sorted { $0.sender < $1.sender }
    }

    /// Rejects from now on every packet at or below `floors` (a restart: what the previous life
    /// accepted). A floor below what is already known changes nothing.
    public mutating func restore(_ floors: [SenderFloor]) {
        for floor in floors {
            if let known = senders[floor.sender], known.boot > floor.boot { continue }
            var state = senders[floor.sender].flatMap { $0.boot == floor.boot ? $0 : nil } ?? SenderState(boot: floor.boot)
            state.datagrams.raiseFloor(to: floor.datagrams)
            state.streams.raiseFloor(to: floor.streams)
            store(state, for: floor.sender)
        }
    }
}

extension FreshnessTable.CounterWindow {
    mutating func raiseFloor(to value: UInt64) {
        guard value > floor else { return }
        floor = value
        if value > highest {
            highest = value
            blocks = [UInt64](repeating: 0, count: Self.blockCount)
        }
    }
}

/// One sender's newest boot and highest counters, as a receiver saves them.
public struct SenderFloor: Hashable, Sendable {
    public var sender: NodeID
    public var boot: UInt64
    public var datagrams: UInt64
    public var streams: UInt64

    public init(sender: NodeID, boot: UInt64, datagrams: UInt64, streams: UInt64) {
        self.sender = sender
        self.boot = boot
        self.datagrams = datagrams
        self.streams = streams
    }
}
