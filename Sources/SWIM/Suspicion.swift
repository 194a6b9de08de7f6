#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lifeguard's dynamic suspicion timeout for one suspected member.
///
/// The timeout starts at `maximum` and falls towards `minimum` as independent confirmations (distinct
/// members that also suspect) arrive: `max(min, max - (max - min) * log(c + 1) / log(k + 1))` with c
/// confirmations of the k expected. A member suspected by one possibly-sick node waits long to be
/// declared dead; one that many agree on is declared soon.
struct Suspicion: Sendable, Hashable {
    var incarnation: UInt64
    var startedAt: Instant
    var minimum: Duration
    var maximum: Duration
    /// Confirmations after which the timeout reaches its minimum.
    var expectedConfirmations: Int
    /// Everyone who suspected at this incarnation, the first suspecter included.
    var suspecters: Set<NodeID>

    var confirmations: Int { max(0, suspecters.count - 1) }

    init(incarnation: UInt64, by suspecter: NodeID, at now: Instant, clusterSize: Int, settings: Settings) {
        let floor = Suspicion.minimumTimeout(clusterSize: clusterSize, settings: settings)
        self.incarnation = incarnation
        self.startedAt = now
        self.minimum = floor
        self.maximum = floor.scaled(by: settings.suspicionMaxMultiplier)
        // Too few members to ever provide the wanted confirmations: expect what they can give.
        self.expectedConfirmations = max(0, min(settings.suspicionConfirmations, clusterSize - 2))
        self.suspecters = [suspecter]
    }

    /// `suspicionMultiplier * max(1, log10(n)) * probeInterval`.
    static func minimumTimeout(clusterSize: Int, settings: Settings) -> Duration {
        let scale = max(1, log10(Double(max(1, clusterSize))))
        return settings.probeInterval.scaled(by: settings.suspicionMultiplier * scale)
    }

    /// The current timeout for `confirmations` confirmations.
    var timeout: Duration {
        if expectedConfirmations == 0 { return minimum }
        let fraction = log(Double(confirmations) + 1) / log(Double(expectedConfirmations) + 1)
        let raw = maximum.seconds - fraction * (maximum.seconds - minimum.seconds)
        return raw <= minimum.seconds ? minimum : .nanoseconds(Int64((raw * 1e9).rounded()))
    }

    var deadline: Instant { startedAt + timeout }

    /// The deadline stretched by our local health multiplier: a node that is itself slow (its acks and
    /// refutations reach it late) waits longer before it declares anyone dead.
    func deadline(localHealth: Int) -> Instant { startedAt + timeout * (localHealth + 1) }

    /// Records a suspecter; true when it is a new, independent confirmation.
    mutating func confirm(by suspecter: NodeID) -> Bool {
        suspecters.insert(suspecter).inserted
    }
}

