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

    public init(_ grants: [Grant] = []) {
        for grant in grants { merge(grant) }
    }

    /// Keeps `grant` if it is newer than what we hold for its node. Returns true if it changed anything.
    @discardableResult
    public mutating func merge(_ grant: Grant) -> Bool {
        if let held = grants[grant.node], held.stamp >= grant.stamp { return false }
        grants[grant.node] = grant
        newestStamp = max(newestStamp, grant.stamp)
        return true
    }

    /// Takes `grant` back if it is still its node's entry, putting back the entry it replaced: a
    /// change that never reached its quorum must not linger in the replica of the authority that
    /// stepped down with it. Returns true if it changed anything.
    @discardableResult
    public mutating func withdraw(_ grant: Grant, restoring replaced: Grant?) -> Bool {
        guard grants[grant.node]?.stamp == grant.stamp else { return false }
        grants[grant.node] = replaced
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

/// How the ledger and the epoch ride SWIM's application payloads: one payload per node's grant (a
/// newer stamp is a newer version) and one for the current epoch, whose version also counts the
/// authority's heartbeats (epoch in the high 32 bits, beat in the low), so each heartbeat is news that
/// gossip carries to every holder. Push-pull carries them all, so a node that was away catches up in
/// one exchange.
public enum LedgerPayloads {
    static let grantPrefix = "lm.grant."
    static let epochKey = "lm.epoch"

    public static func payload(for grant: Grant) -> AppPayload {
        var value: [UInt8] = []
        appendUInt64(UInt64(grant.cores), to: &value)
        return AppPayload(key: grantPrefix + grant.node.description, version: grant.stamp.rawValue, value: value)
    }

    /// The epoch payload; a heartbeat's also carries the license servers' clocks (`ServerClocks`).
    public static func payload(epoch: Epoch, authority: NodeID, beat: UInt32 = 0, clocks: ServerClocks? = nil) -> AppPayload {
        var value: [UInt8] = []
        appendUInt64(authority.rawValue, to: &value)
        if let clocks {
            appendUInt64(UInt64(bitPattern: clocks.median), to: &value)
            appendUInt64(UInt64(bitPattern: clocks.latest), to: &value)
        }
        return AppPayload(key: epochKey, version: UInt64(epoch.rawValue) << 32 | UInt64(beat), value: value)
    }

    public enum Decoded: Hashable, Sendable {
        case grant(Grant)
        case epoch(Epoch, authority: NodeID, beat: UInt32, clocks: ServerClocks?)

        /// The epoch it names (a grant's stamp's).
        public var epoch: Epoch {
            switch self {
            case .grant(let grant): grant.stamp.epoch
            case .epoch(let epoch, _, _, _): epoch
            }
        }
    }

    /// Nil for payloads that are not the ledger's, or malformed ones (dropped, never trusted).
    public static func decode(_ payload: AppPayload) -> Decoded? {
        if payload.key == epochKey {
            let words = stride(from: 0, to: payload.value.count, by: 8).map { Array(payload.value[$0..<min($0 + 8, payload.value.count)]) }
            guard words.count == 1 || words.count == 3, let authority = readUInt64(words[0]) else { return nil }
            var clocks: ServerClocks?
            if words.count == 3 {
                guard let median = readUInt64(words[1]), let latest = readUInt64(words[2]) else { return nil }
                clocks = ServerClocks(median: Int64(bitPattern: median), latest: Int64(bitPattern: latest))
            }
            return .epoch(Epoch(rawValue: UInt32(truncatingIfNeeded: payload.version >> 32)), authority: NodeID(authority),
                          beat: UInt32(truncatingIfNeeded: payload.version), clocks: clocks)
        }
        guard payload.key.hasPrefix(grantPrefix),
              let node = NodeID(hex: String(payload.key.dropFirst(grantPrefix.count))),
              let cores = readUInt64(payload.value), cores <= UInt64(Int32.max) else { return nil }
        return .grant(Grant(node: node, cores: Int(cores), stamp: Stamp(rawValue: payload.version)))
    }

    private static func appendUInt64(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func readUInt64(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
