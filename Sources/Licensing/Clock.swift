import SWIM

/// Time the cluster cannot be fooled about. A license's validity is judged against a clock that is
/// never earlier than the license's issue date, than the latest time this node saved (its data
/// directory), or than the latest of the license servers' clocks (their heartbeats carry them). A node
/// whose own clock disagrees with the license servers' median by more than `maximumClockSkew`, or
/// reads earlier than the license was issued, is reported, and does not act as authority.
///
/// Judging by the latest clock means a rolled-back clock cannot make an expired license count as long
/// as one license server (or this node's own history) knows better; a clock far ahead makes licenses
/// expire early (it fails closed), and is reported.
extension LicensingNode {
    /// The driver's reading of the wall clock (seconds since 1970) at `now`. Call it regularly (the
    /// agent does at every loop turn, the simulator at every round).
    public mutating func observeWallClock(unixSeconds: Int64, now: Instant) -> [LicensingDirective] {
        clock = max(clock, now)
        wallReading = WallReading(unix: unixSeconds, at: now)
        judgeClock(now: now)
        return finish(now: now)
    }

    /// How far the clock moves before the time floor follows it: the floor is saved with the durable
    /// state, so this bounds the data directory's writes for time alone to one per step.
    static let timeFloorStep: Int64 = 600

    /// This node's wall clock at `now`, from the last reading.
    func wallTime(at now: Instant) -> Int64? {
        guard let reading = wallReading else { return nil }
        return reading.unix + Int64((now - reading.at).seconds.rounded(.down))
    }

    /// The time license validity is judged by, for a local reading `unixTime`.
    public func trustedTime(_ unixTime: Int64) -> Int64 {
        var time = max(unixTime, timeFloor, terms?.issued ?? 0)
        if let offsets = serverClockOffsets, offsets.latest > 0 { time = max(time, unixTime + offsets.latest) }
        return time
    }

    /// Re-judges this node's clock; a change of verdict changes its advert (the driver republishes it).
    mutating func judgeClock(now: Instant) {
        guard let own = wallTime(at: now) else { return }
        var problem: String?
        let skew = Int64(settings.maximumClockSkew.seconds)
        if let issued = terms?.issued, issued > 0, own + skew < issued {
            problem = "this node's clock reads \(formatUnixDate(own)), before license \(terms?.id ?? "") was issued (\(formatUnixDate(issued)))"
        } else if let offsets = serverClockOffsets, abs(offsets.median) > skew {
            let days = Double(abs(offsets.median)) / 86_400
            let amount = days >= 1 ? "\(Int(days.rounded())) days" : "\(abs(offsets.median)) s"
            problem = "this node's clock is \(amount) \(offsets.median > 0 ? "behind" : "ahead of") the license servers' median"
        }
        guard problem != clockProblem else { return }
        clockProblem = problem
        emit(.clockProblem(problem), now: now)
        reconsider(now: now)
    }

    /// The license servers' clocks as this authority last heard them (its own included), at `now`.
    func serverClocks(now: Instant) -> ServerClocks? {
        guard let term, let own = wallTime(at: now) else { return nil }
        var times = [own]
        for (_, heard) in term.serverTimes { times.append(heard.time + Int64((now - heard.at).seconds.rounded(.down))) }
        times.sort()
        return ServerClocks(median: times[times.count / 2], latest: times[times.count - 1])
    }

    /// A heartbeat reported the servers' clocks: keep them as offsets from ours.
    mutating func learnServerClocks(_ clocks: ServerClocks, now: Instant) {
        guard let own = wallTime(at: now) else { return }
        serverClockOffsets = ClockOffsets(median: clocks.median - own, latest: clocks.latest - own)
        judgeClock(now: now)
        // The servers' clocks vouch for this reading: it becomes the floor, so a clock set back later,
        // even across a restart, cannot make an expired license count again. A reading they do not
        // vouch for (off by more than `maximumClockSkew`, or read between heartbeats) is never kept: a
        // clock wrongly far ahead for a while must not expire the license on this node for good.
        let (gap, overflow) = own.subtractingReportingOverflow(timeFloor)   // a saved floor is read from disk
        if clockProblem == nil, own > timeFloor, overflow || gap >= Self.timeFloorStep { timeFloor = own }
    }
}

/// One reading of the wall clock, and when (monotonic).
struct WallReading: Sendable {
    var unix: Int64
    var at: Instant
}

/// The license servers' clocks relative to this node's (seconds; positive: they are ahead).
public struct ClockOffsets: Hashable, Sendable {
    public var median: Int64
    public var latest: Int64
}
