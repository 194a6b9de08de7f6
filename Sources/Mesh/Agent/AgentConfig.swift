import SWIM
import Wire

/// Everything one agent needs to start. Start from `init(...)` with the required fields and override
/// the rest; `validate()` (called by `Agent.start`) rejects what cannot work before any socket is bound.
///
/// The JSON config file of a later issue maps onto these fields one to one.
public struct AgentConfig: Sendable {
    /// This node's identity. In production it derives from the host's MAC address (`HostIdentity`) so
    /// that it matches the license; agents sharing a host (tests, demos) need distinct IDs.
    public var nodeID: NodeID

    /// Where the UDP socket and the TCP listener are bound (the same port for both). Port 0 picks a
    /// free port, which `Agent.boundAddress` then reports.
    public var bindAddress: SocketAddress

    /// The address other members use to reach this node. Default: the bound address. A wildcard bind
    /// (0.0.0.0 or ::) needs an explicit advertise address, since "any address" reaches nobody.
    /// Port 0 here means "the bound port".
    public var advertiseAddress: SocketAddress?

    /// Packets carry a hash of this name; agents of other clusters are ignored (and counted).
    public var clusterName: String

    /// Encrypted with a keyring, or plain (explicitly: there is no default).
    public var security: GossipSecurity

    /// Protocol timers and tunables. `maxMessageSize` is overwritten from `packetBudget`.
    public var settings: Settings

    /// The largest UDP datagram this node sends, and the largest it accepts: larger ones are counted as
    /// oversize and dropped unread. 1,400 bytes fits a 1,500-byte Ethernet MTU with room for IP and UDP
    /// headers (and tunnels). Every agent of a cluster should use the same value; when raising it, raise
    /// it on every receiver before any sender.
    public var packetBudget: Int = 1_400

    /// Seed of the protocol's random choices (probe order, helpers, gossip targets). Nil: drawn from
    /// the secure random generator, so that agents started together do not make the same choices.
    /// Set it to replay a run.
    public var randomSeed: UInt64?

    /// Small opaque bytes advertised with this member (the licensing layer's advert).
    public var metadata: [UInt8] = []

    /// Incarnation to start from (a persisted floor after a restart; see `SWIMInstance.init`).
    public var initialIncarnation: UInt64 = 0

    /// How long a leaving agent keeps answering after announcing its departure, so that members that
    /// have not heard yet do not suspect it. Nil: two probe intervals.
    public var leaveLinger: Duration?

    /// Deadline of one stream exchange (connect, request, response) for push-pull, and how long a
    /// served connection may take. Nil: twice the probe interval, at least one second.
    public var streamTimeout: Duration?

    /// The largest push-pull frame read or written. 4 MiB holds about 5,000 members with metadata.
    public var maximumStreamFrameSize: Int = StreamConnection.defaultMaximumFrameSize

    /// Connections served at once. More are closed at once and counted: a flood of connections costs
    /// this many threads at most, each bounded by `streamTimeout`.
    public var maximumIncomingStreams: Int = 16

    /// Push-pulls and fallback pings in flight at once; more are skipped (the protocol retries).
    public var maximumOutgoingStreams: Int = 16

    public init(nodeID: NodeID, bindAddress: SocketAddress, clusterName: String, security: GossipSecurity,
                settings: Settings = .lan) {
        self.nodeID = nodeID
        self.bindAddress = bindAddress
        self.clusterName = clusterName
        self.security = security
        self.settings = settings
    }

    /// The smallest budget: SWIM needs 256 bytes per message, plus the encryption envelope.
    public static let minimumPacketBudget = 256 + WireSize.encryptionOverhead
    /// The largest UDP payload over IPv4.
    public static let maximumPacketBudget = 65_000

    public var isEncrypted: Bool {
        if case .encrypted = security { true } else { false }
    }

    /// The protocol settings the agent runs: `settings` with the message size the budget leaves once
    /// the encryption envelope (if any) is taken off.
    public var effectiveSettings: Settings {
        var effective = settings
        effective.maxMessageSize = packetBudget - (isEncrypted ? WireSize.encryptionOverhead : 0)
        return effective
    }

    public var effectiveLeaveLinger: Duration { leaveLinger ?? settings.probeInterval * 2 }

    public var effectiveStreamTimeout: Duration {
        streamTimeout ?? max(.seconds(1), settings.probeInterval * 2)
    }

    /// Checks every field; the error names the field, the value and the fix.
    public func validate() throws(AgentConfigError) {
        func fail(_ field: String, _ problem: String) throws(AgentConfigError) {
            throw AgentConfigError(field: field, problem: problem)
        }
        if clusterName.isEmpty { try fail("clusterName", "is empty; give every agent of the cluster the same non-empty name") }
        if clusterName.utf8.count > 255 { try fail("clusterName", "is longer than 255 bytes") }
        if packetBudget < Self.minimumPacketBudget || packetBudget > Self.maximumPacketBudget {
            try fail("packetBudget", "\(packetBudget) is outside \(Self.minimumPacketBudget)...\(Self.maximumPacketBudget) bytes; 1400 suits Ethernet")
        }
        if advertiseAddress == nil, bindAddress.ip.isWildcard {
            try fail("advertiseAddress", "is required when binding to the wildcard address \(bindAddress.ip): other members cannot reach 'any address'; advertise this host's reachable IP")
        }
        if let advertise = advertiseAddress {
            if advertise.ip.isWildcard {
                try fail("advertiseAddress", "\(advertise) is a wildcard address, which reaches nobody; advertise this host's reachable IP")
            }
            if advertise.family != bindAddress.family {
                try fail("advertiseAddress", "\(advertise) is \(advertise.family) but the agent binds \(bindAddress.family) (\(bindAddress)); use the same family")
            }
        }
        if metadata.count > Member.maximumMetadataLength {
            try fail("metadata", "\(metadata.count) bytes exceeds the limit of \(Member.maximumMetadataLength)")
        }
        if let linger = leaveLinger, linger < .zero { try fail("leaveLinger", "must not be negative (got \(linger))") }
        if let timeout = streamTimeout, timeout <= .zero { try fail("streamTimeout", "must be positive (got \(timeout))") }
        if maximumStreamFrameSize < 64 * 1024 {
            try fail("maximumStreamFrameSize", "\(maximumStreamFrameSize) bytes is too small for a push-pull state; use at least 65536")
        }
        if maximumIncomingStreams < 1 { try fail("maximumIncomingStreams", "must be at least 1 (got \(maximumIncomingStreams))") }
        if maximumOutgoingStreams < 1 { try fail("maximumOutgoingStreams", "must be at least 1 (got \(maximumOutgoingStreams))") }
        do {
            try effectiveSettings.validate()
        } catch {
            throw AgentConfigError(field: "settings.\(error.field)", problem: error.problem)
        }
    }

    /// The address to advertise once bound: the configured one (port 0 taking the bound port), or the
    /// bound address itself.
    func advertised(bound: SocketAddress) -> SocketAddress {
        guard var advertise = advertiseAddress else { return bound }
        if advertise.port == 0 { advertise.port = bound.port }
        return advertise
    }
}

/// A configuration field that cannot work, with what would fix it.
public struct AgentConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var problem: String
    public init(field: String, problem: String) { self.field = field; self.problem = problem }
    public var description: String { "invalid agent configuration: \(field) \(problem)" }
}
