import SWIM

/// How one direction of a link treats datagrams. Streams (push-pull, stream pings) see the same
/// latency but no loss, duplication or reordering: they model TCP, which hides those.
public struct LinkConditions: Hashable, Sendable {
    /// One-way delay before jitter. Half a millisecond is a busy data-centre LAN.
    public var latency: Duration = .microseconds(500)
    /// Each datagram's delay is `latency` plus a uniform value in `-jitter...+jitter` (at least 1 µs),
    /// which by itself reorders datagrams sent close together.
    public var jitter: Duration = .microseconds(200)
    /// Probability that a datagram is dropped.
    public var loss: Double = 0
    /// Probability that a datagram is delivered twice (each copy with its own delay).
    public var duplication: Double = 0
    /// Probability that a datagram is held back by an extra `reorderDelay`, so it overtakes nothing
    /// and is overtaken by what follows: reordering beyond what jitter gives.
    public var reorder: Double = 0
    public var reorderDelay: Duration = .milliseconds(2)

    public init(latency: Duration = .microseconds(500), jitter: Duration = .microseconds(200), loss: Double = 0,
                duplication: Double = 0, reorder: Double = 0, reorderDelay: Duration = .milliseconds(2)) {
        self.latency = latency; self.jitter = jitter; self.loss = loss
        self.duplication = duplication; self.reorder = reorder; self.reorderDelay = reorderDelay
    }

    func validate(_ name: String) throws(ScenarioError) {
        if latency < .zero { throw ScenarioError("\(name).latency must not be negative (got \(latency))") }
        if jitter < .zero { throw ScenarioError("\(name).jitter must not be negative (got \(jitter))") }
        if reorderDelay < .zero { throw ScenarioError("\(name).reorderDelay must not be negative (got \(reorderDelay))") }
        for (field, p) in [("loss", loss), ("duplication", duplication), ("reorder", reorder)] where !(p >= 0 && p <= 1) {
            throw ScenarioError("\(name).\(field) must be a probability in 0...1 (got \(p))")
        }
    }
}

/// Conditions that apply to the links from one group of nodes to another; the first matching rule wins.
public struct LinkRule: Hashable, Sendable {
    /// Sending nodes (indices); nil means any.
    public var from: [Int]?
    /// Receiving nodes (indices); nil means any.
    public var to: [Int]?
    public var conditions: LinkConditions

    public init(from: [Int]?, to: [Int]?, conditions: LinkConditions) {
        self.from = from; self.to = to; self.conditions = conditions
    }
}

/// The whole network: default conditions plus optional per-link rules.
public struct NetworkConditions: Hashable, Sendable {
    public var link = LinkConditions()
    public var rules: [LinkRule] = []
    public init(link: LinkConditions = LinkConditions(), rules: [LinkRule] = []) {
        self.link = link; self.rules = rules
    }
}

/// A cut between two groups of nodes. Two-way blocks both directions; one-way blocks only datagrams
/// from `side` to `otherSide` (answers still get through the other way, the asymmetric-firewall case).
/// Streams need both directions, so a one-way cut fails them too.
public struct Partition: Hashable, Sendable {
    public var side: [Int]
    /// The other group; nil means every node not in `side`.
    public var otherSide: [Int]?
    public var oneWay: Bool

    public init(side: [Int], otherSide: [Int]? = nil, oneWay: Bool = false) {
        self.side = side; self.otherSide = otherSide; self.oneWay = oneWay
    }
}

/// The link model in the form the simulator uses per message: integers of nanoseconds.
struct LinkModel {
    var latency: Int64
    var jitter: Int64
    var loss: Double
    var duplication: Double
    var reorder: Double
    var reorderDelay: Int64

    init(_ conditions: LinkConditions) {
        latency = conditions.latency.nanoseconds
        jitter = conditions.jitter.nanoseconds
        loss = conditions.loss
        duplication = conditions.duplication
        reorder = conditions.reorder
        reorderDelay = conditions.reorderDelay.nanoseconds
    }

    /// One datagram's delay: latency, jitter, and sometimes the extra reorder delay.
    @inline(__always)
    func datagramDelay(_ random: inout SeededGenerator) -> Int64 {
        var delay = latency
        if jitter > 0 {
            delay += Int64(random.next(upperBound: UInt64(2 * jitter + 1))) - jitter
        }
        if reorder > 0, random.chance(reorder) { delay += reorderDelay }
        return max(delay, 1_000)
    }

    /// A stream message's delay: latency with jitter, never reordered (TCP keeps order for us).
    @inline(__always)
    func streamDelay(_ random: inout SeededGenerator) -> Int64 {
        var delay = latency
        if jitter > 0 {
            delay += Int64(random.next(upperBound: UInt64(2 * jitter + 1))) - jitter
        }
        return max(delay, 1_000)
    }
}

/// Node membership of each side of an active partition, as a per-node byte (0 none, 1 side, 2 other side).
struct ActivePartition {
    var id: Int
    var sides: [UInt8]
    var oneWay: Bool

    init(id: Int, partition: Partition, nodeCount: Int) {
        self.id = id
        oneWay = partition.oneWay
        sides = [UInt8](repeating: partition.otherSide == nil ? 2 : 0, count: nodeCount)
        for node in partition.otherSide ?? [] where node >= 0 && node < nodeCount { sides[node] = 2 }
        for node in partition.side where node >= 0 && node < nodeCount { sides[node] = 1 }
    }

    @inline(__always)
    func blocks(from: Int, to: Int) -> Bool {
        let a = sides[from], b = sides[to]
        return (a == 1 && b == 2) || (!oneWay && a == 2 && b == 1)
    }
}

/// Why a scenario cannot run; says which field is wrong.
public struct ScenarioError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "invalid scenario: \(message)" }
}
