/// What the cluster believes about a member. Raw values are the wire encoding.
public enum MemberState: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Answering probes, or refuted its last suspicion.
    case alive = 0
    /// A probe failed; the member has until its suspicion timeout to refute.
    case suspect = 1
    /// Confirmed failed. Kept as a tombstone so stale gossip cannot bring it back.
    case dead = 2
    /// Left gracefully. Final for its incarnation; a restart comes back with a higher one.
    case left = 3

    public var description: String {
        switch self {
        case .alive: "alive"
        case .suspect: "suspect"
        case .dead: "dead"
        case .left: "left"
        }
    }

    /// Alive and suspect members take part in the protocol (are probed, can be asked for indirect probes).
    public var isActive: Bool { self == .alive || self == .suspect }
}

/// One row of the membership table.
public struct Member: Hashable, Sendable, CustomStringConvertible {
    /// The wire format bounds metadata to this many bytes: it rides in every alive update.
    public static let maximumMetadataLength = 512

    /// Incarnations grow by one per refutation or metadata change, and restarts continue from a
    /// persisted floor: no member reaches these. An update beyond them is forged or corrupt, and is
    /// dropped and counted (`SWIMMetrics.implausibleUpdates`), never adopted: so a refutation (one
    /// more) can never overflow, and no update can push a member to where it could not refute.
    ///
    /// - `maximumIncarnation`: no incarnation at or above it is ever accepted (2^62).
    /// - `maximumFreeIncarnation`: below it, any incarnation is accepted, about any member (2^61):
    ///   a member first heard of, or a node's own previous life, may be anywhere down there.
    /// - `maximumIncarnationJump`: above it, an update must be at most this far above the incarnation
    ///   held for its member (2^24).
    ///
    /// The rules are the same for a member's own incarnation as for others', so whatever the others
    /// accept about a member, the member accepts about itself too and refutes. A key holder pushing a
    /// member up reaches the free bound with one forgery and needs 2^37 more to reach the ceiling.
    public static let maximumIncarnation: UInt64 = 1 << 62
    public static let maximumFreeIncarnation: UInt64 = 1 << 61
    public static let maximumIncarnationJump: UInt64 = 1 << 24

    public var id: NodeID
    public var address: Address
    /// Raised only by the member itself, to refute a suspicion or to announce a new life.
    public var incarnation: UInt64
    public var state: MemberState
    /// Small opaque bytes owned by the member (the licensing layer puts its license id here).
    public var metadata: [UInt8]

    public init(id: NodeID, address: Address, incarnation: UInt64, state: MemberState, metadata: [UInt8] = []) {
        self.id = id
        self.address = address
        self.incarnation = incarnation
        self.state = state
        self.metadata = metadata
    }

    public var description: String { "\(id)@\(address)#\(incarnation) \(state)" }
}
