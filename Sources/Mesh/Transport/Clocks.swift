import Glibc
import SWIM

/// The runtime's only source of protocol time: CLOCK_MONOTONIC never jumps when an operator or NTP
/// sets the wall clock, so timers and suspicion deadlines cannot fire early or hang.
public enum MonotonicClock {
    public static func now() -> Instant {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Instant(nanoseconds: Int64(spec.tv_sec) &* 1_000_000_000 &+ Int64(spec.tv_nsec))
    }
}

/// Wall-clock time, for logs, license expiry and anything a human reads. Never for timers: it can jump.
public enum WallClock {
    /// Seconds since the Unix epoch, with sub-second precision.
    public static func secondsSinceEpoch() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
