#if canImport(Glibc)
import Glibc
#endif
import Crypto
import SWIM

/// Which counter a sealed packet took its place from: datagrams and stream frames are numbered apart,
/// so a push-pull frame sealed before a burst of datagrams is not judged against them.
public enum EnvelopeChannel: UInt8, Hashable, Sendable, CaseIterable {
    case datagram = 0
    case stream = 1
}

/// The first 24 bytes of every sealed plaintext: who sealed the packet, in which of its lives, and
/// its place in that life's sequence. Encrypted and authenticated with the body, so only a key
/// holder can write one; a replayer can only repeat one, which the receiver's `FreshnessTable`
/// recognises.
public struct EnvelopeStamp: Hashable, Sendable, CustomStringConvertible {
    public static let size = 24
    /// The top bit of the counter field marks stream frames.
    static let streamBit: UInt64 = 1 << 63

    public var sender: NodeID
    /// Strictly increasing over the sender's lives (`EnvelopeSender.boot(after:unixMicroseconds:)`).
    public var boot: UInt64
    public var channel: EnvelopeChannel
    /// Strictly increasing within one life and channel, from 1.
    public var counter: UInt64

    public init(sender: NodeID, boot: UInt64, channel: EnvelopeChannel, counter: UInt64) {
        self.sender = sender
        self.boot = boot
        self.channel = channel
        self.counter = counter & ~Self.streamBit
    }

    public var description: String { "\(sender) boot \(boot) \(channel == .stream ? "stream" : "datagram") #\(counter)" }

    func append(to bytes: inout [UInt8]) {
        let counterField = counter | (channel == .stream ? Self.streamBit : 0)
        for value in [sender.rawValue, boot, counterField] {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
    }

    /// Reads the stamp at the start of a plaintext; nil when it is shorter than a stamp.
    init?(_ plaintext: ArraySlice<UInt8>) {
        guard plaintext.count >= Self.size else { return nil }
        func field(_ index: Int) -> UInt64 {
            var value: UInt64 = 0
            let start = plaintext.startIndex + index * 8
            for offset in 0..<8 { value = value << 8 | UInt64(plaintext[start + offset]) }
            return value
        }
        let counterField = field(2)
        self.init(sender: NodeID(field(0)), boot: field(1), channel: counterField & Self.streamBit != 0 ? .stream : .datagram,
                  counter: counterField)
    }
}

/// Who seals: this node's ID and the boot of this life.
public struct EnvelopeSender: Hashable, Sendable {
    public var id: NodeID
    public var boot: UInt64

    public init(id: NodeID, boot: UInt64) {
        self.id = id
        self.boot = boot
    }

    /// The boot of a new life: the wall clock in microseconds, so that lives order without any file
    /// (a wiped data directory still starts above its earlier lives), and never below the previous
    /// life's boot + 1 where one was saved (a clock set back still does too). Only both at once
    /// (a clock set back and no saved boot) can start a life below an earlier one; receivers that
    /// remember the earlier one then drop this life's packets as replays (`earlierLife`) until the
    /// clock is right again.
    public static func boot(after previous: UInt64?, unixMicroseconds: UInt64) -> UInt64 {
        guard let previous else { return max(1, unixMicroseconds) }
        return max(unixMicroseconds, previous == .max ? .max : previous + 1)
    }

    /// For tools and tests that seal without an identity: a random ID, booted now.
    public static func anonymous(unixMicroseconds: UInt64) -> EnvelopeSender {
        EnvelopeSender(id: NodeID(SecureRandom.uint64()), boot: boot(after: nil, unixMicroseconds: unixMicroseconds))
    }
}

/// The wall clock, read where a boot is made (the protocol core never reads it).
public enum WallTime {
    public static func unixMicroseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        guard spec.tv_sec > 0 else { return 1 }
        return UInt64(spec.tv_sec) * 1_000_000 + UInt64(spec.tv_nsec / 1_000)
    }
}
