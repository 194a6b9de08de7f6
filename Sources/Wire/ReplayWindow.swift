/// The nonces of the last `capacity` authenticated packets one receiver accepted, so an exact
/// replay of any of them is rejected (`WireError.replayed`).
///
/// Only authenticated packets enter the window: a forger cannot flush it with garbage, only a
/// holder of the key can. Older replays fall out of the window and are then harmless by the
/// protocol's own precedence rules (FORMAT.md, "Replays").
public struct ReplayWindow: Sendable {
    /// 8,192 packets: at the default one probe per second a 10-node cluster receives about 4 packets
    /// a second per node, so the window covers half an hour; a 1,000-node cluster's busiest node
    /// still a minute or more. Memory: about 400 KB per receiver.
    public static let defaultCapacity = 8_192

    struct Nonce: Hashable, Sendable {
        var high: UInt64
        var low: UInt32
    }

    public let capacity: Int
    private var order: [Nonce] = []
    private var next = 0
    private var seen: Set<Nonce> = []

    public init(capacity: Int = ReplayWindow.defaultCapacity) {
        self.capacity = max(1, capacity)
        order.reserveCapacity(self.capacity)
        seen.reserveCapacity(self.capacity)
    }

    /// Records `nonce` (12 bytes) and returns true, or returns false if it is already in the window.
    mutating func insert(_ nonce: UnsafeBufferPointer<UInt8>) -> Bool {
        var high: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(nonce[i]) }
        var low: UInt32 = 0
        for i in 8..<12 { low = low << 8 | UInt32(nonce[i]) }
        let key = Nonce(high: high, low: low)
        guard seen.insert(key).inserted else { return false }
        if order.count < capacity {
            order.append(key)
        } else {
            seen.remove(order[next])
            order[next] = key
            next = (next + 1) % capacity
        }
        return true
    }

    /// Nonces currently remembered.
    public var count: Int { seen.count }
}
