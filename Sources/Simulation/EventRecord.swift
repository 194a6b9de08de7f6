import SWIM

/// One membership event as the simulator recorded it: when, at which node, what.
public struct EventRecord: Hashable, Sendable {
    public var time: Instant
    /// The node whose instance emitted the event.
    public var node: Int
    public var event: MembershipEvent

    public init(time: Instant, node: Int, event: MembershipEvent) {
        self.time = time; self.node = node; self.event = event
    }
}

/// A stable 64-bit digest of a run: every membership event and every delivered message, in order.
/// Not Swift's `Hasher` (seeded per process): this one must be equal across processes and machines,
/// so that a seed printed by one run can be checked by another.
public struct TraceDigest: Hashable, Sendable, CustomStringConvertible {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    @inline(__always)
    public mutating func add(_ word: UInt64) {
        value = (value ^ word) &* 0x0000_0100_0000_01B3
        value ^= value >> 29
    }

    public mutating func add(_ record: EventRecord) {
        add(UInt64(bitPattern: record.time.nanoseconds))
        add(UInt64(record.node))
        let event = record.event
        switch event.kind {
        case .joined(let m): add(1); add(m)
        case .suspected(let m, let by): add(2); add(m); add(by.rawValue)
        case .refuted(let m): add(3); add(m)
        case .confirmedDead(let m, let by): add(4); add(m); add(by.rawValue)
        case .left(let m): add(5); add(m)
        case .updated(let m): add(6); add(m)
        case .idConflict(let id, let known, let claimant):
            add(7); add(id.rawValue); add(known.rawValue); add(claimant.rawValue)
        case .refutedSuspicionOfSelf(let incarnation): add(8); add(incarnation)
        case .forgotten(let id): add(9); add(id.rawValue)
        }
    }

    private mutating func add(_ member: Member) {
        add(member.id.rawValue)
        add(member.incarnation)
        add(UInt64(member.state.rawValue))
        add(member.address.rawValue)
    }

    private mutating func add(_ text: String) {
        for byte in text.utf8 { add(UInt64(byte)) }
    }

    public var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
