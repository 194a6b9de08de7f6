import SWIM

/// Where a simulated node is in its life.
public enum NodeStatus: Hashable, Sendable {
    /// Not started yet (a node that joins later).
    case absent
    case running
    /// Called `leave`; still answering pings until it stops.
    case leaving
    /// Stopped after a graceful leave.
    case stopped
    case crashed

    /// Running or leaving: messages reach it and its timers fire.
    public var isUp: Bool { self == .running || self == .leaving }
}

/// One life of a node, from start (or restart) to crash or stop. The observers use these to tell
/// a false accusation (of a node that was up) from a true one, and news about an earlier life from
/// news about this one.
public struct LifeSpan: Hashable, Sendable {
    public var start: Instant
    public var end: Instant?
    /// When it called `leave`, if it did.
    public var leftAt: Instant?
    public var endedByCrash = false
    /// The incarnation it had when this life ended.
    public var finalIncarnation: UInt64?
    /// The highest incarnation of any earlier life: accusations at or below it are about an earlier
    /// life, still in flight, not about this one.
    public var earlierLivesIncarnation: UInt64?

    public func contains(_ time: Instant) -> Bool {
        start <= time && (end.map { time < $0 } ?? true)
    }
}

/// The simulator's bookkeeping for one node (its SWIMInstance lives in a separate array, so that it
/// can be mutated in place without copying this).
struct NodeRuntime {
    var status: NodeStatus = .absent
    /// Counts lives, so that timers of an earlier life are recognised and ignored.
    var life: UInt32 = 0
    /// The time of the tick event that counts; `Int64.max` when none is pending.
    var scheduledTick: Int64 = .max
    /// Nanoseconds by which incoming messages are handed over late (a slow node); 0 normally.
    var slowDelay: Int64 = 0
    var spans: [LifeSpan] = []
}
