import SWIM

/// The figures of one run: detection times, false accusations, traffic, convergence. Plain numbers
/// (seconds, counts) so that it encodes to JSON as it is.
public struct SimulationReport: Hashable, Sendable, Codable {
    public var nodes: Int
    public var periods: Int
    public var seed: UInt64
    public var probeIntervalSeconds: Double
    public var simulatedSeconds: Double

    /// One row per crash (a life that ended by crashing), in order of crash time.
    public var detections: [CrashDetection]
    /// Over the crashes that were detected at all: crash to the first suspicion anywhere.
    public var firstSuspicion: Distribution
    /// Crash to the first confirmation of death anywhere.
    public var firstDead: Distribution
    /// Crash to the moment the last live member confirmed the death (crashes not confirmed by every
    /// live member are left out, and counted in `CrashDetection.notConfirmedBy`).
    public var deadEverywhere: Distribution

    /// Suspicions of members that were up (not crashed, not departed), counted per recording node.
    public var falseSuspicions: AccusationCount
    /// Dead declarations of members that were up.
    public var falseDeaths: AccusationCount

    /// Traffic per node per protocol period, by message kind.
    public var traffic: [TrafficRow]
    public var messagesPerNodePerPeriod: Double
    public var bytesPerNodePerPeriod: Double
    public var encryptionOverheadCounted: Bool
    public var network: NetworkCounters

    /// Nodes up and not leaving at the end.
    public var liveNodes: Int
    /// Every live node sees every other live node alive at the end (nil when not checked: O(n^2)).
    public var converged: Bool?
    /// With periodic checks: seconds since start from which the cluster stayed converged.
    public var convergedSince: Double?

    public var membershipEvents: Int
    public var queueEvents: UInt64
    /// Equal for equal runs (same scenario and seed).
    public var traceDigest: String
    /// Summed over the instances up at the end (crashed ones took their counters with them).
    public var protocolTotals: ProtocolTotals
    /// Wall-clock seconds the run took, when the caller measured it (never part of a comparison of runs).
    public var wallSeconds: Double?
    /// Licensing figures, when the scenario has a license.
    public var licensing: LicensingReport?
}

public struct CrashDetection: Hashable, Sendable, Codable {
    public var node: Int
    /// Seconds since the start of the run.
    public var crashedAt: Double
    /// Seconds after the crash; nil when it did not happen before the run ended (or the node restarted).
    public var firstSuspicion: Double?
    public var firstDead: Double?
    public var deadEverywhere: Double?
    /// Members that were live at the crash, stayed up, and never confirmed the death.
    public var notConfirmedBy: Int
}

/// Median, 90th percentile and maximum of a set of durations, in seconds and in protocol periods.
public struct Distribution: Hashable, Sendable, Codable {
    public var count: Int
    public var median: Double?
    public var p90: Double?
    public var max: Double?
    public var medianPeriods: Double?
    public var p90Periods: Double?
    public var maxPeriods: Double?

    /// Median is the middle value (mean of the two middle ones for an even count); p90 is the
    /// nearest-rank 90th percentile.
    public init(_ values: [Double], period: Double) {
        let sorted = values.sorted()
        count = sorted.count
        guard !sorted.isEmpty else { return }
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        let rank = Int((0.9 * Double(sorted.count)).rounded(.up))
        p90 = sorted[Swift.max(rank, 1) - 1]
        max = sorted.last
        if period > 0 {
            medianPeriods = median.map { $0 / period }
            p90Periods = p90.map { $0 / period }
            maxPeriods = max.map { $0 / period }
        }
    }
}

public struct AccusationCount: Hashable, Sendable, Codable {
    /// Events recorded (one per node that learned of it).
    public var events = 0
    /// Distinct (member, incarnation) accusations.
    public var accusations = 0
    /// Distinct members accused.
    public var members = 0
    /// Node indices of the accused members (at most 20, for a first look).
    public var sample: [Int] = []
}

public struct TrafficRow: Hashable, Sendable, Codable {
    public var kind: String
    public var datagramsPerNodePerPeriod: Double
    public var datagramBytesPerNodePerPeriod: Double
    public var streamMessagesPerNodePerPeriod: Double
    public var streamBytesPerNodePerPeriod: Double
}

public struct ProtocolTotals: Hashable, Sendable, Codable {
    public var probes = 0
    public var indirectProbes = 0
    public var failedProbes = 0
    public var suspicionsRaised = 0
    public var deathsDeclared = 0
    public var refutations = 0
    public var pushPullsStarted = 0
    /// Highest Lifeguard local-health score among live nodes at the end.
    public var maxLocalHealth = 0
}
