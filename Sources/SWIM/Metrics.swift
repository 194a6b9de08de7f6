/// Counters kept by the protocol core. The runtime adds bytes and decode failures; the simulator and
/// the metrics endpoint read these.
public struct SWIMMetrics: Hashable, Sendable {
    /// Messages built, by kind (indexed by `MessageKind.rawValue`).
    public var sent = [Int](repeating: 0, count: 9)
    /// Messages handled, by kind.
    public var received = [Int](repeating: 0, count: 9)
    /// Direct probes started (one per protocol period, plus probes of suspects heard of).
    public var probes = 0
    /// Ping-req messages sent after a direct ping went unanswered.
    public var indirectProbes = 0
    /// Probes that ended without any ack.
    public var failedProbes = 0
    /// Nacks received from helpers, and nacks we sent as a helper.
    public var nacksReceived = 0
    public var nacksSent = 0
    /// Suspicions this node raised itself (its own probe failed).
    public var suspicionsRaised = 0
    /// Dead declarations this node made itself (a suspicion timed out here).
    public var deathsDeclared = 0
    /// Times this node raised its incarnation to refute gossip about itself.
    public var refutations = 0
    /// Pings addressed to another node ID, and acks matching no outstanding probe.
    public var misdirectedPings = 0
    public var unexpectedAcks = 0
    /// Updates merged, and updates ignored as stale by the precedence rules.
    public var updatesApplied = 0
    public var updatesIgnored = 0
    /// Push-pull exchanges started, and requests answered.
    public var pushPullsStarted = 0
    public var pushPullsAnswered = 0
    /// Full-state exchanges that arrived as datagrams (they travel on streams only) and were ignored.
    public var misroutedExchanges = 0
    /// Updates with an incarnation no member could have reached (see `Member.maximumIncarnation`), dropped.
    public var implausibleUpdates = 0

    public init() {}

    public func sent(_ kind: MessageKind) -> Int { sent[Int(kind.rawValue)] }
    public func received(_ kind: MessageKind) -> Int { received[Int(kind.rawValue)] }
}
