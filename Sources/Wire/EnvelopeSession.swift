import Synchronization
import SWIM

/// One agent's side of envelope freshness, shared by every codec it makes (a new keyring makes a new
/// codec, not a new session): its identity and counters as a sender, its `FreshnessTable` as a
/// receiver. Thread-safe: the I/O thread and the stream workers seal and open concurrently.
public final class EnvelopeSession: Sendable {
    public let sender: EnvelopeSender
    private let datagramCounter = Atomic<UInt64>(0)
    private let streamCounter = Atomic<UInt64>(0)
    private let table: Mutex<FreshnessTable>

    public init(sender: EnvelopeSender, floors: [SenderFloor] = [], capacity: Int = FreshnessTable.defaultCapacity) {
        self.sender = sender
        var table = FreshnessTable(capacity: capacity)
        table.restore(floors)
        self.table = Mutex(table)
    }

    /// The stamp for the next packet on `channel`.
    func nextStamp(_ channel: EnvelopeChannel) -> EnvelopeStamp {
        let counter = switch channel {
        case .datagram: datagramCounter.add(1, ordering: .relaxed).newValue
        case .stream: streamCounter.add(1, ordering: .relaxed).newValue
        }
        return EnvelopeStamp(sender: sender.id, boot: sender.boot, channel: channel, counter: counter)
    }

    func admit(_ stamp: EnvelopeStamp) -> FreshnessTable.Verdict {
        table.withLock { $0.admit(stamp) }
    }

    /// What to save so that the next life of this receiver keeps rejecting what this one accepted.
    public var floors: [SenderFloor] { table.withLock { $0.floors } }

    /// Senders remembered.
    public var senderCount: Int { table.withLock { $0.count } }
}
