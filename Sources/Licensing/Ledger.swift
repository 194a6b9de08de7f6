import SWIM

/// An authority term. Every takeover starts a higher epoch; the low 8 bits are the rank of the
/// server that started it, so two servers can never start the same epoch (even on two sides of a
/// partition under the `available` policy) and every stamp names its authority unambiguously.
public struct Epoch: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(round: UInt32, serverRank: Int) {
        self.rawValue = round << 8 | UInt32(serverRank & 0xFF)
    }
    public static let none = Epoch(rawValue: 0)
    public var round: UInt32 { rawValue >> 8 }
    public var serverRank: Int { Int(rawValue & 0xFF) }
    /// Rounds fit in 24 bits.
    public static let maximumRound: UInt32 = (1 << 24) - 1

    /// The next epoch this server would start: one round above `self`; at the last round there is no
    /// next one (a received epoch that high is refused as implausible long before: see
    /// `LicensingNode.isPlausible`), and it stays put rather than wrapping below older epochs.
    public func next(serverRank: Int) -> Epoch {
        Epoch(round: min(round + 1, Self.maximumRound), serverRank: serverRank)
    }
    public static func < (lhs: Epoch, rhs: Epoch) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue == 0 ? "none" : "\(round).\(serverRank)" }
}

/// Orders every ledger change: (epoch, sequence within the epoch). Replicas keep the change with the
/// highest stamp, so a deposed authority's late changes (older epoch) lose to the new one's.
public struct Stamp: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(epoch: Epoch, sequence: UInt32) { rawValue = UInt64(epoch.rawValue) << 32 | UInt64(sequence) }
    public static let zero = Stamp(rawValue: 0)
    public var epoch: Epoch { Epoch(rawValue: UInt32(truncatingIfNeeded: rawValue >> 32)) }
    public var sequence: UInt32 { UInt32(truncatingIfNeeded: rawValue) }
    public static func < (lhs: Stamp, rhs: Stamp) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "\(epoch)/\(sequence)" }
}

/// Cores held by one node, as of a stamp. Zero cores records a release (kept, so an older grant
/// arriving late cannot bring the cores back).
public struct Grant: Hashable, Sendable, CustomStringConvertible {
    public var node: NodeID
    public var cores: Int
    public var stamp: Stamp
    public init(node: NodeID, cores: Int, stamp: Stamp) { self.node = node; self.cores = cores; self.stamp = stamp }
    public var description: String { "\(node): \(cores) cores @\(stamp)" }
}

/// The core-allocation ledger: node -> its latest grant. Merging keeps the higher stamp per node, so
/// replicas converge whatever order changes arrive in, and merging twice changes nothing.
public struct Ledger: Hashable, Sendable {
    public private(set) var grants: [NodeID: Grant] = [:]
    /// The newest stamp in the ledger (kept as grants merge: a stamp only ever grows).
    public private(set) var newestStamp = Stamp.zero
    /// An order-independent hash of the entries (XOR of each grant's hash), kept as entries change:
    /// two replicas with equal entries have equal digests, so comparing 8 bytes tells a replica whether
    /// it must pull anything from its peers (`LedgerHead`).
    public private(set) var digest: UInt64 = 0

    public init(_ grants: [Grant] = []) {
        for grant in grants { merge(grant) }
    }

    /// Keeps `grant` if it is newer than what we hold for its node. Returns true if it changed anything.
    @discardableResult
    public mutating func merge(_ grant: Grant) -> Bool {
        if let held = grants[grant.node], held.stamp >= grant.stamp { return false }
        replaceEntry(of: grant.node, with: grant)
        newestStamp = max(newestStamp, grant.stamp)
        return true
    }

    private mutating func replaceEntry(of node: NodeID, with grant: Grant?) {
        if let old = grants[node] { digest ^= Self.hash(old) }
        if let grant { digest ^= Self.hash(grant) }
        grants[node] = grant
    }

    /// A well-mixed 64-bit hash of one entry (splitmix64's finalizer over its fields): not a
    /// cryptographic one, a forged collision would only delay a replica's catch-up until the next change.
    static func hash(_ grant: Grant) -> UInt64 {
        func mix(_ value: UInt64) -> UInt64 {
            var z = value &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return mix(mix(mix(grant.node.rawValue) ^ grant.stamp.rawValue) ^ UInt64(truncatingIfNeeded: grant.cores))
    }

    /// Entries changed after `stamp`, oldest change first, at most `limit` of them (`where` filters
    /// them first): what a replica that holds everything up to `stamp` lacks. One pass over the
    /// entries; a replica asks only while its digest differs from the authority's.
    public func entries(after stamp: Stamp, limit: Int, where include: (Grant) -> Bool = { _ in true }) -> [Grant] {
        let newer = grants.values.filter { $0.stamp > stamp && include($0) }
        guard newer.count > limit else { return newer.sorted { $0.stamp < $1.stamp } }
        return Array(newer.sorted { $0.stamp < $1.stamp }.prefix(limit))
    }

    /// Takes `grant` back if it is still its node's entry, putting back the entry it replaced: a
    /// change that never reached its quorum must not linger in the replica of the authority that
    /// stepped down with it. Returns true if it changed anything.
    @discardableResult
    public mutating func withdraw(_ grant: Grant, restoring replaced: Grant?) -> Bool {
        guard grants[grant.node]?.stamp == grant.stamp else { return false }
        replaceEntry(of: grant.node, with: replaced)
        return true
    }

    public mutating func merge(_ other: Ledger) {
        for grant in other.grants.values { merge(grant) }
    }

    public func cores(of node: NodeID) -> Int { grants[node]?.cores ?? 0 }

    /// Cores held by the given nodes (all when nil).
    public func total(where include: (NodeID) -> Bool = { _ in true }) -> Int {
        grants.values.reduce(0) { include($1.node) ? $0 + $1.cores : $0 }
    }

    /// Holders with cores, in node order.
    public var holders: [Grant] { grants.values.filter { $0.cores > 0 }.sorted { $0.node < $1.node } }

}

/// What the authority last heard of the license servers' wall clocks (seconds since 1970, at the
/// heartbeat): their median, and the latest. Every node compares its own clock with the median, and
/// judges license validity by a clock never behind the latest.
public struct ServerClocks: Hashable, Sendable {
    public var median: Int64
    public var latest: Int64
    public init(median: Int64, latest: Int64) { self.median = median; self.latest = latest }
}

/// What the authority announces about its ledger (gossiped as one payload, replaced by each newer
/// announcement): how many entries and which digest its committed ledger has, and up to which stamp it
/// holds every change. A replica whose digest differs pulls what it lacks from its peers
/// (`LicensingMessage.pull`); the announcement itself costs the same few bytes at any cluster size.
public struct LedgerHead: Hashable, Sendable {
    public var epoch: Epoch
    /// Counts the term's announcements: each one supersedes the previous.
    public var counter: UInt32
    public var authority: NodeID
    public var digest: UInt64
    public var count: Int
    /// Every committed change up to this stamp is in the announced ledger.
    public var through: Stamp

    public init(epoch: Epoch, counter: UInt32, authority: NodeID, digest: UInt64, count: Int, through: Stamp) {
        self.epoch = epoch
        self.counter = counter
        self.authority = authority
        self.digest = digest
        self.count = count
        self.through = through
    }
}

/// How the epoch and the ledger's head ride SWIM's application payloads. The epoch payload's version
/// also counts the authority's heartbeats (epoch in the high 32 bits, beat in the low), so each
/// heartbeat is news that gossip carries to every holder; the head's counts its announcements. The
/// ledger's entries never ride gossip: replicas pull them (see `Replication.swift`), so a change costs
/// each node its own bytes once, not a retransmission by every node.
public enum LedgerPayloads {
    // Short keys: the epoch's rides gossip at every heartbeat, so each byte is paid for by every node.
    static let epochKey = "lm.e"
    static let headKey = "lm.h"
    /// Payloads republished periodically (the epoch's, at every heartbeat): SWIM passes each version
    /// on fewer times (`SWIMInstance.periodicPayloadKeys`).
    public static let periodicKeys: Set<String> = [epochKey]

    /// The epoch payload; a heartbeat's also carries the license servers' clocks (`ServerClocks`), as
    /// varints: the median, then the latest's distance from it (zigzag), about 6 bytes where two fixed
    /// words took 16.
    ///
    /// It also names the authority's latest ledger head (`headCounter`): a replica whose head is older
    /// knows the head's own gossip missed it, and fetches the ledger (a head is announced again only
    /// when the ledger changes, the heartbeat every few seconds).
    public static func payload(epoch: Epoch, authority: NodeID, beat: UInt32 = 0, headCounter: UInt32 = 0,
                               clocks: ServerClocks? = nil) -> AppPayload {
        var value: [UInt8] = []
        appendUInt64(authority.rawValue, to: &value)
        appendVarint(UInt64(headCounter), to: &value)
        if let clocks {
            appendVarint(UInt64(bitPattern: clocks.median), to: &value)
            let distance = clocks.latest &- clocks.median
            appendVarint(UInt64(bitPattern: (distance << 1) ^ (distance >> 63)), to: &value)
        }
        return AppPayload(key: epochKey, version: UInt64(epoch.rawValue) << 32 | UInt64(beat), value: value)
    }

    public static func payload(head: LedgerHead) -> AppPayload {
        var value: [UInt8] = []
        appendUInt64(head.authority.rawValue, to: &value)
        appendUInt64(head.digest, to: &value)
        appendUInt64(UInt64(head.count), to: &value)
        appendUInt64(head.through.rawValue, to: &value)
        return AppPayload(key: headKey, version: UInt64(head.epoch.rawValue) << 32 | UInt64(head.counter), value: value)
    }

    public enum Decoded: Hashable, Sendable {
        case epoch(Epoch, authority: NodeID, beat: UInt32, headCounter: UInt32, clocks: ServerClocks?)
        case head(LedgerHead)

        /// The epochs it names: each must be plausible before it is believed.
        public var epochs: [Epoch] {
            switch self {
            case .epoch(let epoch, _, _, _, _): [epoch]
            case .head(let head): [head.epoch, head.through.epoch]
            }
        }
    }

    /// Nil for payloads that are not the ledger's, or malformed ones (dropped, never trusted).
    public static func decode(_ payload: AppPayload) -> Decoded? {
        let epoch = Epoch(rawValue: UInt32(truncatingIfNeeded: payload.version >> 32))
        let low = UInt32(truncatingIfNeeded: payload.version)
        switch payload.key {
        case epochKey:
            guard payload.value.count >= 8, let authority = readUInt64(Array(payload.value[0..<8])) else { return nil }
            var index = 8
            guard let counter = readVarint(payload.value, at: &index), counter <= UInt64(UInt32.max) else { return nil }
            guard index < payload.value.count else {
                return .epoch(epoch, authority: NodeID(authority), beat: low, headCounter: UInt32(counter), clocks: nil)
            }
            guard let median = readVarint(payload.value, at: &index), let zigzag = readVarint(payload.value, at: &index),
                  index == payload.value.count else { return nil }
            let distance = Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1)
            let clocks = ServerClocks(median: Int64(bitPattern: median), latest: Int64(bitPattern: median) &+ distance)
            return .epoch(epoch, authority: NodeID(authority), beat: low, headCounter: UInt32(counter), clocks: clocks)
        case headKey:
            let words = stride(from: 0, to: payload.value.count, by: 8).map { Array(payload.value[$0..<min($0 + 8, payload.value.count)]) }
            let values = words.compactMap(readUInt64)
            guard words.count == 4, values.count == 4, values[2] <= UInt64(LicensingCodec.maximumParts * LicensingCodec.grantsPerPart) else { return nil }
            return .head(LedgerHead(epoch: epoch, counter: low, authority: NodeID(values[0]), digest: values[1],
                                    count: Int(values[2]), through: Stamp(rawValue: values[3])))
        default:
            return nil
        }
    }

    private static func appendUInt64(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var v = value
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    /// At most ten bytes, the last carrying no bits beyond 64; nil when malformed or cut short.
    private static func readVarint(_ bytes: [UInt8], at index: inout Int) -> UInt64? {
        var result: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard index < bytes.count else { return nil }
            let byte = bytes[index]
            index += 1
            if shift == 63 && byte > 1 { return nil }
            result |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte & 0x80 == 0 { return result }
        }
        return nil
    }

    private static func readUInt64(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
