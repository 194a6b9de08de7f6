/// Every message two SWIM instances exchange. Swift values here; `Wire` gives their bytes.
public enum Message: Hashable, Sendable {
    /// "Are you alive?" Answered with an `ack` carrying the same sequence number.
    case ping(Ping)
    /// "Please ping `target` for me": the indirect probe. The helper answers `ack` if the target
    /// answers it, and `nack` if it does not answer in time (Lifeguard), so the requester can tell
    /// a dead target from its own bad network.
    case pingReq(PingRequest)
    case ack(Ack)
    case nack(Nack)
    /// Gossip with nothing to probe: a graceful leave, or updates sent eagerly.
    case gossip(GossipMessage)
    /// Anti-entropy: the full state, answered with the responder's full state. Carried over a
    /// stream by the runtime (it is usually larger than one datagram).
    case pushPullRequest(PushPullState)
    case pushPullResponse(PushPullState)
    /// An opaque point-to-point message of the application (the licensing layer's requests and
    /// replies). It rides the same encryption and counters as the protocol's own messages.
    case app(AppMessage)

    /// A short name, for counters and logs.
    public var kind: MessageKind {
        switch self {
        case .ping: .ping
        case .pingReq: .pingReq
        case .ack: .ack
        case .nack: .nack
        case .gossip: .gossip
        case .pushPullRequest: .pushPullRequest
        case .pushPullResponse: .pushPullResponse
        case .app: .app
        }
    }

    /// Who sent the message, as it says of itself.
    public var source: NodeID {
        switch self {
        case .ping(let m): m.source
        case .pingReq(let m): m.source
        case .ack(let m): m.source
        case .nack(let m): m.source
        case .gossip(let m): m.source
        case .pushPullRequest(let m), .pushPullResponse(let m): m.source
        case .app(let m): m.source
        }
    }

    /// The updates it carries.
    public var piggyback: [Gossip] {
        switch self {
        case .ping(let m): m.piggyback
        case .pingReq(let m): m.piggyback
        case .ack(let m): m.piggyback
        case .nack: []
        case .gossip(let m): m.piggyback
        case .pushPullRequest, .pushPullResponse, .app: []
        }
    }
}

/// Message types; raw values are the wire's type byte.
public enum MessageKind: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case ping = 1, pingReq = 2, ack = 3, nack = 4, gossip = 5, pushPullRequest = 6, pushPullResponse = 7, app = 8
    public var description: String {
        switch self {
        case .ping: "ping"
        case .pingReq: "ping-req"
        case .ack: "ack"
        case .nack: "nack"
        case .gossip: "gossip"
        case .pushPullRequest: "push-pull-request"
        case .pushPullResponse: "push-pull-response"
        case .app: "app"
        }
    }
}

public struct Ping: Hashable, Sendable {
    /// Matches the ack to the probe; chosen by the sender.
    public var sequence: UInt32
    /// Whom the sender means to reach. A node that receives a ping meant for another ID (an address
    /// reused after a restart under a new identity) does not answer it.
    public var target: NodeID
    public var source: NodeID
    public var piggyback: [Gossip]
    public init(sequence: UInt32, target: NodeID, source: NodeID, piggyback: [Gossip] = []) {
        self.sequence = sequence; self.target = target; self.source = source; self.piggyback = piggyback
    }
}

public struct PingRequest: Hashable, Sendable {
    public var sequence: UInt32
    public var target: NodeID
    public var targetAddress: Address
    public var source: NodeID
    public var piggyback: [Gossip]
    public init(sequence: UInt32, target: NodeID, targetAddress: Address, source: NodeID, piggyback: [Gossip] = []) {
        self.sequence = sequence; self.target = target; self.targetAddress = targetAddress
        self.source = source; self.piggyback = piggyback
    }
}

public struct Ack: Hashable, Sendable {
    public var sequence: UInt32
    /// The node that answered: the probed target, or for an indirect probe the target as reported by the helper.
    public var source: NodeID
    public var piggyback: [Gossip]
    public init(sequence: UInt32, source: NodeID, piggyback: [Gossip] = []) {
        self.sequence = sequence; self.source = source; self.piggyback = piggyback
    }
}

public struct Nack: Hashable, Sendable {
    public var sequence: UInt32
    /// The helper that could not reach the target.
    public var source: NodeID
    public init(sequence: UInt32, source: NodeID) { self.sequence = sequence; self.source = source }
}

public struct GossipMessage: Hashable, Sendable {
    public var source: NodeID
    public var piggyback: [Gossip]
    public init(source: NodeID, piggyback: [Gossip]) { self.source = source; self.piggyback = piggyback }
}

/// An opaque application value disseminated with the membership updates. A newer `version` of a
/// `key` replaces the older one everywhere; the licensing layer keeps its ledger this way.
public struct AppPayload: Hashable, Sendable, CustomStringConvertible {
    /// The wire format bounds keys and values.
    public static let maximumKeyLength = 128
    public static let maximumValueLength = 1024

    public var key: String
    public var version: UInt64
    public var value: [UInt8]
    public init(key: String, version: UInt64, value: [UInt8]) { self.key = key; self.version = version; self.value = value }
    public var description: String { "\(key)@v\(version) (\(value.count) bytes)" }
}

/// One disseminated update: a member's new state, or an application payload.
///
/// Only `alive` carries the address and metadata: it is the only update that can introduce a member.
public enum Gossip: Hashable, Sendable {
    case alive(id: NodeID, incarnation: UInt64, address: Address, metadata: [UInt8])
    /// `suspecter` is who suspects; distinct suspecters are Lifeguard's independent confirmations.
    case suspect(id: NodeID, incarnation: UInt64, suspecter: NodeID)
    case dead(id: NodeID, incarnation: UInt64, declarer: NodeID)
    case left(id: NodeID, incarnation: UInt64)
    case payload(AppPayload)

    /// The member the update is about, if any.
    public var memberID: NodeID? {
        switch self {
        case .alive(let id, _, _, _), .suspect(let id, _, _), .dead(let id, _, _), .left(let id, _): id
        case .payload: nil
        }
    }

    /// The incarnation the update is about, if it is about a member.
    public var incarnation: UInt64? {
        switch self {
        case .alive(_, let incarnation, _, _), .suspect(_, let incarnation, _), .dead(_, let incarnation, _), .left(_, let incarnation): incarnation
        case .payload: nil
        }
    }
}

/// A full-state exchange: every member we know (tombstones included) and every payload, or, in
/// place of the payloads, their digest (`PayloadDigest`) when the sender expects the other side to
/// hold the same ones already.
public struct PushPullState: Hashable, Sendable {
    /// True when the sender is joining: the responder then knows to count it as a fresh join.
    public var join: Bool
    public var source: NodeID
    public var members: [Member]
    public var payloads: [AppPayload]
    /// Set when the payloads were left out: the digest of the sender's payload store. A responder
    /// whose own digest differs answers with all its payloads; one whose digest matches leaves them
    /// out too.
    public var payloadDigest: UInt64?
    /// Set when the members were left out: the digest of the sender's member table (`MemberDigest`),
    /// under the same rule as the payloads'.
    public var memberDigest: UInt64?
    public init(join: Bool, source: NodeID, members: [Member], payloads: [AppPayload], payloadDigest: UInt64? = nil,
                memberDigest: UInt64? = nil) {
        self.join = join; self.source = source; self.members = members; self.payloads = payloads; self.payloadDigest = payloadDigest
        self.memberDigest = memberDigest
    }
}

/// An order-independent digest of a member table (the node's own row included): the XOR of one
/// FNV-1a hash per member (ID, address, incarnation, state, metadata). In a settled cluster every
/// table is the same, so a periodic exchange carries 8 bytes where it carried every member's row; a
/// table that differs anywhere is sent whole, as before.
public enum MemberDigest {
    public static func of(_ member: Member) -> UInt64 {
        var hash = FNV1a64()
        hash.mix64(member.id.rawValue)
        hash.mix64(member.incarnation)
        hash.mix(member.state.rawValue)
        hash.mix(member.address.rawValue.utf8)
        hash.mix(0xFF)   // never in UTF-8: the address ends here
        hash.mix(member.metadata)
        return hash.value
    }
}

/// FNV-1a, 64 bits: the per-row hash both push-pull digests are built from (not cryptographic; a
/// collision only delays anti-entropy until either side changes).
struct FNV1a64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func mix(_ byte: UInt8) {
        value ^= UInt64(byte)
        value = value &* 0x0000_0100_0000_01b3
    }

    mutating func mix(_ bytes: some Sequence<UInt8>) { for byte in bytes { mix(byte) } }

    /// Little-endian.
    mutating func mix64(_ word: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { mix(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
    }
}

/// An order-independent digest of a payload store: the XOR of one FNV-1a hash per payload (key,
/// version and value), kept up to date in O(1) as payloads are stored. Equal stores have equal
/// digests; a 64-bit collision between two different stores would only delay anti-entropy until
/// either store changes (gossip carries every change anyway).
public enum PayloadDigest {
    public static func of(_ payload: AppPayload) -> UInt64 {
        var hash = FNV1a64()
        hash.mix(payload.key.utf8)
        hash.mix(0xFF)   // never in UTF-8: the key ends here
        hash.mix64(payload.version)
        hash.mix(payload.value)
        return hash.value
    }
}

/// An application message: opaque bytes from one member to another.
public struct AppMessage: Hashable, Sendable {
    /// The wire format bounds application messages to one datagram's worth.
    public static let maximumLength = 1200

    public var source: NodeID
    public var bytes: [UInt8]
    public init(source: NodeID, bytes: [UInt8]) { self.source = source; self.bytes = bytes }
}
