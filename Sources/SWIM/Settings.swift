/// Every tunable of the protocol in one place, each with what it does and why its default is what it is.
///
/// Start from a profile (`.lan`, `.wan`, `.local`) and override fields; `validate()` rejects
/// combinations that cannot work. The defaults are those of `.lan`.
public struct Settings: Hashable, Sendable {
    /// Time between the starts of two probes. Each member probes one other member per interval, so
    /// this sets both the detection speed (SWIM's expected first detection is e/(e-1) = 1.58
    /// intervals) and the idle traffic (one ping and one ack per member per interval).
    public var probeInterval: Duration = .milliseconds(500)

    /// How long a direct ping waits for its ack before asking others to probe indirectly.
    /// Must exceed the network's round trip with room to spare; on a LAN half a second is generous.
    public var probeTimeout: Duration = .milliseconds(200)

    /// Members asked to probe indirectly when a direct ping goes unanswered (SWIM's k). Three tolerates
    /// a lossy path to the target without flooding it.
    public var indirectChecks: Int = 3

    /// Fraction of `probeTimeout` a helper waits before answering a ping-req with a nack (Lifeguard).
    /// Shorter than the prober's own wait so the nack arrives while the prober is still listening.
    public var nackTimeoutFraction: Double = 0.8

    /// The suspicion timeout's floor is `suspicionMultiplier * log10(max(n, 10)) * probeInterval`:
    /// time for a suspected member to hear of it and refute, growing slowly with cluster size
    /// because dissemination takes O(log n) periods.
    public var suspicionMultiplier: Double = 0.5

    /// Independent confirmations after which the suspicion timeout reaches its floor (Lifeguard's K).
    /// In clusters too small to provide them, `n - 2` (every other possible suspecter) is expected.
    public var suspicionConfirmations: Int = 3

    /// The suspicion timeout starts at `suspicionMaxMultiplier` times its floor and shrinks towards the
    /// floor as independent confirmations arrive (Lifeguard dynamic suspicion). A lone suspecter
    /// (perhaps the sick one) must therefore wait long; many agreeing suspecters need not.
    public var suspicionMaxMultiplier: Double = 6

    /// Members that hear a suspicion probe the suspect at once; their failed probes are the independent
    /// confirmations that bring the timeout to its floor quickly, and their successful probes cost one
    /// ping. Off in plain SWIM; on by default because it makes detection much faster at no risk.
    public var probeOnSuspicion: Bool = true

    /// Cap of the local health multiplier (Lifeguard LHM). Failed probes, missed nacks and having to
    /// refute raise our score; successful probes lower it. Our probe interval and timeout are scaled
    /// by (score + 1), and so are its suspicion timeouts, so a node that is itself slow backs off instead
    /// of accusing (and declaring dead) healthy members.
    public var maxLocalHealthMultiplier: Int = 8

    /// Each update is piggybacked about `retransmitMultiplier * ceil(log10(n + 1))` times:
    /// enough for it to reach every member with high probability (SWIM's lambda * log n).
    public var retransmitMultiplier: Int = 4

    /// The largest encoded message (before encryption) the core builds; piggybacked updates fill what
    /// is left after the message's own fields. 1,400 bytes stays under a 1,500-byte Ethernet MTU with
    /// room for IP, UDP and the encryption envelope; the runtime lowers it when encrypting.
    public var maxMessageSize: Int = 1_400 - WireSize.encryptionOverhead

    /// Period of the anti-entropy full-state exchange with one random member, which heals whatever
    /// gossip missed (partitions, long outages). Scaled up for clusters above 32 members so the total
    /// push-pull load stays flat. Zero disables periodic push-pull (joins still use it).
    public var pushPullInterval: Duration = .seconds(30)

    /// Period of an attempt to reach one member held dead (a push-pull with it), so that a partition
    /// or a host cut off and plugged back in heals by itself. Costs nothing while nobody is dead.
    /// Zero disables it.
    public var reconnectInterval: Duration = .seconds(5)

    /// Send a ping over a stream as well when a direct UDP ping fails (memberlist's TCP fallback), so a
    /// member behind a UDP-blocking firewall is not declared dead while it is reachable.
    public var streamFallbackPing: Bool = true

    /// How long dead and departed members are remembered. Stale gossip about them (an old alive update
    /// still circulating) is recognised and ignored during this time; after it, only a higher
    /// incarnation could matter, and a restarted node always brings one.
    public var tombstoneRetention: Duration = .seconds(600)

    /// First retry of a join that no seed answered; doubles each time up to `maxJoinRetryInterval`.
    public var joinRetryInterval: Duration = .seconds(1)
    public var maxJoinRetryInterval: Duration = .seconds(30)

    /// Members told directly when we leave, besides piggybacking. Small clusters are told in full.
    public var leaveFanout: Int = 8

    /// Members sent a gossip message at once when a suspicion, death or departure is first heard, so
    /// urgent news does not wait for the next probe to travel. Zero sends it by piggyback only.
    public var urgentGossipFanout: Int = 5

    public init() {}

    /// Defaults for a data-centre LAN.
    public static var lan: Settings { Settings() }

    /// Slower, more tolerant timers for links with high or variable latency.
    public static var wan: Settings {
        var s = Settings()
        s.probeInterval = .seconds(5)
        s.probeTimeout = .seconds(3)
        s.suspicionMultiplier = 6
        s.pushPullInterval = .seconds(60)
        s.reconnectInterval = .seconds(30)
        s.joinRetryInterval = .seconds(2)
        s.maxJoinRetryInterval = .seconds(60)
        return s
    }

    /// Fast timers for one machine's loopback: tests and demos.
    public static var local: Settings {
        var s = Settings()
        s.probeInterval = .milliseconds(200)
        s.probeTimeout = .milliseconds(100)
        s.suspicionMultiplier = 3
        s.suspicionMaxMultiplier = 4
        s.pushPullInterval = .seconds(5)
        s.reconnectInterval = .seconds(2)
        s.tombstoneRetention = .seconds(60)
        s.joinRetryInterval = .milliseconds(200)
        s.maxJoinRetryInterval = .seconds(2)
        return s
    }

    /// A named profile, for configuration files and the command line.
    public static func profile(named name: String) -> Settings? {
        switch name {
        case "lan": .lan
        case "wan": .wan
        case "local": .local
        default: nil
        }
    }

    public static let profileNames = ["lan", "wan", "local"]

    /// Checks that the settings can work; the error says which field is wrong and what would fix it.
    public func validate() throws(SettingsError) {
        func fail(_ field: String, _ problem: String) throws(SettingsError) {
            throw SettingsError(field: field, problem: problem)
        }
        if probeInterval <= .zero { try fail("probeInterval", "must be positive (got \(probeInterval))") }
        if probeTimeout <= .zero { try fail("probeTimeout", "must be positive (got \(probeTimeout))") }
        if probeTimeout >= probeInterval {
            try fail("probeTimeout", "must be shorter than probeInterval (\(probeTimeout) >= \(probeInterval)): the indirect probes need the rest of the interval")
        }
        if indirectChecks < 1 { try fail("indirectChecks", "must be at least 1 (got \(indirectChecks)): without indirect probes one lost packet condemns a member") }
        if !(nackTimeoutFraction > 0 && nackTimeoutFraction < 1) {
            try fail("nackTimeoutFraction", "must be between 0 and 1 exclusive (got \(nackTimeoutFraction))")
        }
        if !(suspicionMultiplier > 0) { try fail("suspicionMultiplier", "must be positive (got \(suspicionMultiplier))") }
        if suspicionConfirmations < 0 { try fail("suspicionConfirmations", "must not be negative (got \(suspicionConfirmations))") }
        if !(suspicionMaxMultiplier >= 1) { try fail("suspicionMaxMultiplier", "must be at least 1 (got \(suspicionMaxMultiplier))") }
        if maxLocalHealthMultiplier < 1 { try fail("maxLocalHealthMultiplier", "must be at least 1 (got \(maxLocalHealthMultiplier))") }
        if retransmitMultiplier < 1 { try fail("retransmitMultiplier", "must be at least 1 (got \(retransmitMultiplier)): updates would never be sent") }
        if maxMessageSize < 256 { try fail("maxMessageSize", "must be at least 256 bytes (got \(maxMessageSize))") }
        if maxMessageSize > 65_000 { try fail("maxMessageSize", "must fit one UDP datagram, at most 65000 bytes (got \(maxMessageSize))") }
        if pushPullInterval < .zero { try fail("pushPullInterval", "must not be negative (got \(pushPullInterval)); zero disables it") }
        if pushPullInterval > .zero && pushPullInterval < probeInterval {
            try fail("pushPullInterval", "must be at least probeInterval (\(pushPullInterval) < \(probeInterval)): a full-state sync per probe would dwarf the probes")
        }
        if reconnectInterval < .zero { try fail("reconnectInterval", "must not be negative (got \(reconnectInterval)); zero disables it") }
        if tombstoneRetention < probeInterval { try fail("tombstoneRetention", "must be at least probeInterval (got \(tombstoneRetention))") }
        if joinRetryInterval <= .zero { try fail("joinRetryInterval", "must be positive (got \(joinRetryInterval))") }
        if maxJoinRetryInterval < joinRetryInterval { try fail("maxJoinRetryInterval", "must be at least joinRetryInterval") }
        if leaveFanout < 1 { try fail("leaveFanout", "must be at least 1 (got \(leaveFanout)): nobody would hear the leave") }
        if urgentGossipFanout < 0 { try fail("urgentGossipFanout", "must not be negative (got \(urgentGossipFanout))") }
    }
}

public struct SettingsError: Error, Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var problem: String
    public init(field: String, problem: String) { self.field = field; self.problem = problem }
    public var description: String { "invalid setting \(field): \(problem)" }
}
