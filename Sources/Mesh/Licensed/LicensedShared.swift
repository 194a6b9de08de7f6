import Licensing
import SWIM
import Synchronization

/// What the licensing application (on the agent's I/O thread) publishes for other threads: the state a
/// license check needs, counters for the metrics, and the installed license. Reads never wait for
/// the I/O thread, so a license check is answered even while the loop is busy.
final class LicensedShared: Sendable {
    /// A copy of the licensing state machine, republished whenever anything `validate` reads changes
    /// (the license, its validity, this node's grant, the last refusal). Copies share storage until
    /// the next change, so publishing is cheap.
    let validation: Mutex<LicensingNode>
    let counters = Mutex(LicensingCounters())
    let license: Mutex<InstalledLicense>
    let events: AsyncStream<LicensingEvent>.Continuation

    init(node: LicensingNode, license: InstalledLicense, events: AsyncStream<LicensingEvent>.Continuation) {
        validation = Mutex(node)
        self.license = Mutex(license)
        self.events = events
    }

    func count(_ update: (inout LicensingCounters) -> Void) {
        counters.withLock { update(&$0) }
    }
}

/// Counters of the licensing layer and of failure detection as seen here, for `/metrics`.
struct LicensingCounters: Sendable {
    /// Licensing messages that did not decode (dropped).
    var malformedMessages = 0
    /// Answers given as authority.
    var grants = 0
    var releases = 0
    var refusals = 0
    /// Epochs established (heard of or started here).
    var authorityChanges = 0
    var validationsAllowed = 0
    var validationsDenied = 0
    /// Seconds from a member's first suspicion (as seen here) to its confirmed death.
    var detectionLatency = PrometheusHistogram(upperBounds: PrometheusHistogram.exponentialBounds(start: 0.05, factor: 2, count: 12))
}

/// When each suspected member was first suspected here, to measure detection latency.
struct SuspicionClock {
    private var firstSuspected: [NodeID: Instant] = [:]

    /// The latency to observe, for a confirmed death of a member suspected before.
    mutating func observe(_ event: MembershipEvent) -> Duration? {
        switch event.kind {
        case .suspected(let member, _):
            if firstSuspected[member.id] == nil { firstSuspected[member.id] = event.at }
        case .refuted(let member), .joined(let member), .left(let member):
            firstSuspected[member.id] = nil
        case .confirmedDead(let member, _):
            guard let since = firstSuspected.removeValue(forKey: member.id) else { return nil }
            return event.at - since
        case .forgotten(let id):
            firstSuspected[id] = nil
        case .updated, .idConflict, .refutedSuspicionOfSelf:
            break
        }
        return nil
    }
}
