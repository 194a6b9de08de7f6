import SWIM

/// Point-to-point messages of the licensing protocol, carried as SWIM application messages.
public enum LicensingMessage: Hashable, Sendable {
    /// A node asks the authority for cores. `held` is the grant it already holds, sent when a new
    /// authority takes over so that grants the old one made but had not yet replicated are rebuilt.
    ///
    /// Replay-proof on its own: `life` names the sender's life (its boot, which its advert carries too)
    /// and `basis` the stamp of the sender's ledger entry the request builds on. The authority applies a
    /// request only if both are current; any change to the entry (this very request's effect included)
    /// makes every earlier request stale, so a replayed one changes nothing (`Outcome.stale`).
    case acquire(requestID: UInt64, life: UInt64, basis: Stamp, cores: Int, mac: UInt64, held: Grant?)
    /// Gives back the grant whose stamp is `basis`.
    case release(requestID: UInt64, life: UInt64, basis: Stamp)
    case reply(requestID: UInt64, outcome: Outcome)
    /// A candidate asks the license servers to accept its epoch.
    case propose(Epoch)
    /// A server accepts: it will not accept ledger changes from older epochs, and sends its ledger
    /// (in parts, each fitting one datagram).
    case promise(Epoch, part: Int, of: Int, grants: [Grant])
    /// A server refuses: it already accepted a higher epoch.
    case reject(Epoch, promised: Epoch)
    /// The authority asks the servers to hold a grant (policy `majority`); each answers `replicated`.
    case replicate(Epoch, Grant)
    case replicated(Epoch, Stamp)
    /// The authority asks the servers to confirm its epoch, once per heartbeat; under `majority` it
    /// renews the holders' leases (by gossip) only once a majority confirmed. A server that promised
    /// a higher epoch answers `reject`, and the authority steps down. Both carry the sender's wall clock
    /// (seconds since 1970), so that the servers' clocks are compared at every heartbeat.
    case heartbeat(Epoch, beat: UInt32, time: Int64)
    case heartbeatAck(Epoch, beat: UInt32, time: Int64)
    /// A replica whose digest differs from the authority's announced head asks a peer for the entries
    /// changed after `since` (every entry when `since` is zero), except those `held` says it holds.
    /// Replaying one only makes a peer send ledger entries again, which change nothing where they are
    /// already held.
    case pull(since: Stamp, held: HeldSequences?)
    /// One part of the answer to a pull, or the authority pushing its latest changes to the servers.
    case entries(LedgerEntries)

    public enum Outcome: Hashable, Sendable {
        case granted(Grant)
        case released(Grant)
        case refused(Refusal)
        /// The receiver is not the authority; `authority` is whom it believes is.
        case notAuthority(authority: NodeID?)
        /// The request named another life or an older ledger entry than the authority's: nothing was
        /// changed. `current` is the sender's entry as the authority holds it (nil: none), so that a
        /// sender whose replica was behind can ask again on the right basis.
        case stale(current: Grant?)
    }

    /// Every epoch the message names, its grants' stamps included: each is checked for plausibility
    /// before the message is acted on.
    public var epochs: [Epoch] {
        switch self {
        case .acquire(_, _, let basis, _, _, let held): [basis.epoch] + (held.map { [$0.stamp.epoch] } ?? [])
        case .release(_, _, let basis): [basis.epoch]
        case .reply(_, let outcome):
            switch outcome {
            case .granted(let grant), .released(let grant), .stale(let grant?): [grant.stamp.epoch]
            case .stale(nil): []
            case .refused(.cpuLimitExhausted(_, _, _, let holders)): holders.map(\.stamp.epoch)
            case .refused, .notAuthority: []
            }
        case .propose(let epoch), .heartbeat(let epoch, _, _), .heartbeatAck(let epoch, _, _): [epoch]
        case .promise(let epoch, _, _, let grants): [epoch] + grants.map(\.stamp.epoch)
        case .reject(let rejected, let promised): [rejected, promised]
        case .replicate(let epoch, let grant): [epoch, grant.stamp.epoch]
        case .replicated(let epoch, let stamp): [epoch, stamp.epoch]
        case .pull(let since, let held): [since.epoch] + (held.map { [$0.epoch] } ?? [])
        case .entries(let part): [part.from.epoch, part.through.epoch] + part.grants.map(\.stamp.epoch)
        }
    }
}

/// Which changes of one epoch a replica already holds beyond the stamp it is complete up to: bit `i`
/// (least significant first within each byte) stands for sequence `first + i`. A peer leaves those out
/// of its answer, so a replica that pulled part of the news from others is not sent it again.
public struct HeldSequences: Hashable, Sendable {
    public var epoch: Epoch
    public var first: UInt32
    public var bits: [UInt8]
    /// 4,096 sequences: a replica further behind is sent some entries twice, never more.
    public static let maximumBytes = 512

    public init(epoch: Epoch, first: UInt32, bits: [UInt8]) {
        self.epoch = epoch
        self.first = first
        self.bits = bits
    }

    /// The sequences of `epoch` from `first` on that `grants` hold (nil when none).
    public init?(epoch: Epoch, first: UInt32, of grants: some Sequence<Grant>) {
        var bits: [UInt8] = []
        for grant in grants where grant.stamp.epoch == epoch && grant.stamp.sequence >= first {
            let offset = Int(grant.stamp.sequence - first)
            guard offset < Self.maximumBytes * 8 else { continue }
            if offset / 8 >= bits.count { bits += [UInt8](repeating: 0, count: offset / 8 + 1 - bits.count) }
            bits[offset / 8] |= 1 << UInt8(offset % 8)
        }
        guard !bits.isEmpty else { return nil }
        self.init(epoch: epoch, first: first, bits: bits)
    }

    public func contains(_ stamp: Stamp) -> Bool {
        guard stamp.epoch == epoch, stamp.sequence >= first else { return false }
        let offset = Int(stamp.sequence - first)
        return offset / 8 < bits.count && bits[offset / 8] & (1 << UInt8(offset % 8)) != 0
    }
}

/// One part of a ledger transfer. Entries only ever merge (the higher stamp wins per node), so a
/// replayed or stale part changes nothing; `from` and `through` let the receiver know how far it is
/// complete without trusting the part to be the newest.
public struct LedgerEntries: Hashable, Sendable {
    /// With the entries it held up to `from`, the receiver holds every change up to `through` once it
    /// merged these grants. Both zero in a push, which claims nothing.
    public var from: Stamp
    public var through: Stamp
    /// The last part of this answer.
    public var isLast: Bool
    /// The sender holds more changes than this answer carried: the receiver asks again at once.
    public var hasMore: Bool
    /// In stamp order.
    public var grants: [Grant]

    public init(from: Stamp, through: Stamp, isLast: Bool, hasMore: Bool, grants: [Grant]) {
        self.from = from
        self.through = through
        self.isLast = isLast
        self.hasMore = hasMore
        self.grants = grants
    }
}

/// Why a request was refused. The description is what operators and client code see.
public enum Refusal: Hashable, Sendable, CustomStringConvertible {
    case cpuLimitExhausted(limit: Int, inUse: Int, requested: Int, holders: [Grant])
    case macNotListed(mac: UInt64)
    /// The authority could not get a majority of the license servers to hold the grant.
    case noQuorum(reached: Int, needed: Int)
    case invalidRequest(String)
    /// This node may not ask for cores: its own license is missing or did not verify (decided locally).
    case notLicensed(String)
    /// The authority does not (yet) see the requester as a live member advertising a valid license.
    case notAMember

    public var description: String {
        switch self {
        case .cpuLimitExhausted(let limit, let inUse, let requested, let holders):
            let list = holders.isEmpty ? "none" : holders.map { "\($0.node)=\($0.cores)" }.joined(separator: ", ")
            return "\(LicensingMessages.cpuLimitExhausted) The license allows \(limit) cores in the cluster; "
                + "\(inUse) are in use and this node asked for \(requested). Holders: \(list). "
                + "Fix: release cores on another server, lower this server's requested cores, or install a license with a higher core limit."
        case .macNotListed(let mac):
            return "\(LicensingMessages.invalidMultiServerLicense) The MAC id seen on this server is \(formatMAC(mac)), "
                + "which is not among the hosts of the license. Fix: check the MAC ids given when the license was generated, "
                + "and have the license reissued with this server's MAC id."
        case .noQuorum(let reached, let needed):
            return "No quorum of license servers: \(reached) of the \(needed) needed hold the grant. "
                + "The cluster may be partitioned; grants resume when a majority of the license servers can reach each other."
        case .invalidRequest(let reason):
            return "Invalid request: \(reason)"
        case .notLicensed(let reason):
            return reason
        case .notAMember:
            return "The license authority does not see this node as a live member with a valid license yet (it has just joined, "
                + "or the authority holds it dead); this node asks again. Fix: if this lasts, check that the authority can reach this node over UDP."
        }
    }
}

extension Refusal {
    /// Whether asking again later can succeed without anyone changing this node's request: cores may
    /// be freed, a quorum may come back, a renewed license may list this host.
    public var isRetryable: Bool {
        switch self {
        case .cpuLimitExhausted, .noQuorum, .macNotListed, .notAMember: true
        case .invalidRequest, .notLicensed: false
        }
    }
}

/// Identifies one acquire or release of this node, from the call that starts it to the event that
/// settles it (`LicensingEvent.Kind.requestSettled`). Unique within a life of the node; the base is
/// random per life, so the authority never mistakes a new life's request for an old one's.
public struct RequestID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (lhs: RequestID, rhs: RequestID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "#\(rawValue)" }
}

/// How a request of this node ended. Every request started gets exactly one.
public enum RequestOutcome: Hashable, Sendable {
    /// This node holds these cores.
    case granted(Grant)
    /// This node holds no cores.
    case released
    case refused(Refusal)
    /// A newer request of this node replaced it before it was answered.
    case superseded(by: RequestID)
    /// It will not be answered: this node is leaving, say.
    case abandoned(String)
}

/// The two field errors, word for word. Each message that uses them goes on to give the cause and the fix.
public enum LicensingMessages {
    /// The cluster's cores would exceed the license's limit.
    public static let cpuLimitExhausted = "CPU limit exhausted. Can't allocate more CPUs."
    /// A server's MAC id is not in the license.
    public static let invalidMultiServerLicense = "Invalid license for multi-server environment setup."
}
