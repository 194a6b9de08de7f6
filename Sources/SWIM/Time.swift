/// A point on the caller's monotonic clock, in nanoseconds. The protocol never reads a clock:
/// the runtime passes real monotonic time, the simulator passes virtual time.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)
    /// Later than any real deadline: "no timer pending".
    public static let distantFuture = Instant(nanoseconds: .max)

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &+ rhs.nanoseconds)
    }
    public static func - (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &- rhs.nanoseconds)
    }
    public static func - (lhs: Instant, rhs: Instant) -> Duration {
        .nanoseconds(lhs.nanoseconds &- rhs.nanoseconds)
    }
    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public var description: String { "t=" + formatSeconds(seconds) }
}

extension Duration {
    /// Whole nanoseconds, saturating; protocol timers never need more than 292 years.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }
    public var seconds: Double { Double(nanoseconds) / 1e9 }
    /// `self` times a real factor, rounded to the nanosecond.
    public func scaled(by factor: Double) -> Duration {
        .nanoseconds(Int64((Double(nanoseconds) * factor).rounded()))
    }
}

/// A duration in messages for people: "15 s" when whole seconds, else "250 ms".
public func formatDuration(_ duration: Duration) -> String {
    let millis = duration.nanoseconds / 1_000_000
    return millis % 1000 == 0 ? "\(millis / 1000) s" : "\(millis) ms"
}

/// Seconds with three decimals, for logs and tables.
public func formatSeconds(_ seconds: Double) -> String {
    let millis = Int64((seconds * 1000).rounded())
    let sign = millis < 0 ? "-" : ""
    let magnitude = millis.magnitude
    let fraction = String(magnitude % 1000)
    return "\(sign)\(magnitude / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)s"
}
