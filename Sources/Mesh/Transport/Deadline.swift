import SWIM

/// One deadline for a whole operation (a frame's header and body together), so a peer that trickles
/// one byte at a time cannot stretch a worker's wait beyond the timeout it was given.
struct Deadline {
    let instant: Instant

    init(after timeout: Duration) {
        let start = MonotonicClock.now()
        // Saturate: Duration.nanoseconds already clamps huge timeouts; the addition must not wrap either.
        let (sum, overflow) = start.nanoseconds.addingReportingOverflow(max(0, timeout.nanoseconds))
        instant = Instant(nanoseconds: overflow ? .max : sum)
    }

    /// Milliseconds left for poll(2), rounded up so we never wake just before the deadline and spin;
    /// nil once the deadline has passed.
    func remainingMilliseconds() -> Int32? {
        let left = instant.nanoseconds &- MonotonicClock.now().nanoseconds
        guard left > 0 else { return nil }
        return PollTimeout.milliseconds(roundingUp: left)
    }
}

enum PollTimeout {
    /// Nanoseconds to poll(2) milliseconds: rounded up, clamped to Int32 (about 24 days, which poll then repeats).
    static func milliseconds(roundingUp nanoseconds: Int64) -> Int32 {
        guard nanoseconds > 0 else { return 0 }
        let millis = nanoseconds / 1_000_000 + (nanoseconds % 1_000_000 == 0 ? 0 : 1)
        return Int32(clamping: millis)
    }
}
