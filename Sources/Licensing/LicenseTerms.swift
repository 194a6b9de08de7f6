import Crypto
import SWIM

/// What the licensing state machine needs to know of a verified license: the terms, with no
/// signature or file format attached. `License` documents (verified elsewhere) convert to this.
public struct LicenseTerms: Hashable, Sendable {
    /// Identifies the license: servers holding licenses with different ids do not have
    /// "equal potential" and none of them acts as authority until it is fixed.
    public var id: String
    /// Cores the whole cluster may hold at once.
    public var maxCores: Int
    /// MAC ids (48-bit values) of the servers allowed in the cluster.
    public var hosts: Set<UInt64>
    /// MAC ids of the servers allowed to act as license server; sorted, so each has a rank.
    public var servers: [UInt64]
    public var features: Set<String>
    /// Validity window, in seconds since the Unix epoch (UTC).
    public var notBefore: Int64?
    public var expires: Int64
    /// When the vendor issued it (0: unknown). No clock that reads earlier is right.
    public var issued: Int64
    /// Who the license is for. Licenses of one licensee are versions of one another (a renewal): servers
    /// holding different versions keep serving during a rollout, under the authority's version.
    public private(set) var licensee: String
    /// A short fingerprint of the licensee that adverts carry (0 when the licensee is unknown: then only
    /// an equal id counts as the same license).
    public private(set) var lineage: UInt64

    /// At most this many license servers: a server's rank is part of every epoch number (8 bits).
    public static let maximumServers = 255

    public init(id: String, maxCores: Int, hosts: Set<UInt64>, servers: Set<UInt64>, features: Set<String>,
                notBefore: Int64? = nil, expires: Int64, licensee: String = "", issued: Int64 = 0) {
        self.issued = issued
        self.licensee = licensee
        self.lineage = Self.lineage(of: licensee)
        self.id = id
        self.maxCores = maxCores
        self.hosts = hosts
        self.servers = servers.sorted()
        self.features = features
        self.notBefore = notBefore
        self.expires = expires
    }

    /// The partition policy the license implies: `majority` with three or more servers (a majority
    /// exists on at most one side of any partition), `available` with two (no side could ever
    /// have a majority after losing one server, so each side keeps granting, within a bound).
    public var defaultPolicy: PartitionPolicy { servers.count >= 3 ? .majority : .available }

    /// More than half of the license's servers.
    public var majority: Int { servers.count / 2 + 1 }

    /// Position of a server's MAC in the sorted server list, if it is one.
    public func serverRank(of mac: UInt64) -> Int? { servers.firstIndex(of: mac) }

    /// The first 8 bytes of the licensee's SHA-256 (never 0 for a named licensee), 0 for none.
    public static func lineage(of licensee: String) -> UInt64 {
        guard !licensee.isEmpty else { return 0 }
        let digest = SHA256.hash(Array(licensee.utf8))
        return max(1, digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
    }

    public func isValid(at unixSeconds: Int64) -> Bool {
        if let notBefore, unixSeconds < notBefore { return false }
        return unixSeconds < expires
    }
}

/// How an authority behaves when the license servers are split by a partition.
public enum PartitionPolicy: String, Hashable, Sendable, CaseIterable {
    /// New epochs and new grants need more than half of the license's servers: a cut-off minority
    /// can never complete a grant, so grants never exceed the limit, even across partitions.
    case majority
    /// Each side of a partition may elect an authority and grant; the excess is bounded (see
    /// `LicensingSettings`) and resolved deterministically when the partition heals.
    case available
}

extension LicenseTerms {
    /// The terms of a verified license document, as the licensing state machine takes them.
    public init(_ license: License) {
        self.init(id: license.id, maxCores: license.maxCores, hosts: Set(license.hosts.map(\.rawValue)),
                  servers: Set(license.servers.map(\.rawValue)), features: Set(license.features),
                  notBefore: license.notBefore?.secondsSince1970, expires: license.expires.secondsSince1970,
                  licensee: license.licensee, issued: license.issued.secondsSince1970)
    }
}
