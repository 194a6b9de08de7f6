#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The SWIM membership protocol (with Lifeguard's refinements) as a pure state machine.
///
/// Inputs are `join`, `tick`, `receive`, `leave` and `publish`; each returns the directives the driver
/// must carry out (send this message there, start a push-pull, report this event). The instance reads
/// no clock (time is an argument), does no I/O, starts no threads and draws randomness only from its
/// seeded generator, so the simulator replays a run exactly and the runtime executes the same code.
/// The driver calls `tick(now:)` no later than `nextDeadline`.
public struct SWIMInstance: Sendable {
    public let settings: Settings
    public internal(set) var myself: Member
    public internal(set) var metrics = SWIMMetrics()
    /// Lifeguard's local health score, 0 (healthy) to `maxLocalHealthMultiplier - 1`. Our probe
    /// interval and timeout are scaled by `localHealth + 1`.
    public internal(set) var localHealth = 0
    public internal(set) var isJoined = false
    public internal(set) var isLeaving = false

    struct Entry: Sendable {
        var member: Member
        var stateChangedAt: Instant
    }

    var table: [NodeID: Entry] = [:]
    /// Alive and suspect members, self excluded.
    var activeCount = 0
    var random: SeededGenerator
    var broadcasts = BroadcastQueue()
    var payloads: [String: AppPayload] = [:]
    /// `PayloadDigest` of `payloads`, kept by `store(_:)`.
    public internal(set) var payloadDigest: UInt64 = 0
    /// Keys of payloads their publisher refreshes periodically (a heartbeat): each node passes a
    /// version on fewer times when it continues the term of the one held (`retransmitLimit`). Set by
    /// the application that publishes them.
    public var periodicPayloadKeys: Set<String> = []
    /// How many times each node passes on a version of a periodic payload (nil: `retransmitMultiplier`).
    public var periodicRetransmitLimit: Int?
    /// Partners of our periodic exchanges (digests only) whose answer has not come yet.
    var digestExchangePartners: Set<Address> = []
    var nextSequence: UInt32

    // Probing.
    var probeOrder: [NodeID] = []
    var probeCursor = 0
    var probe: Probe?
    var nextProbeAt: Instant?
    /// Ping-reqs we serve as a helper, keyed by the sequence of our ping to the target.
    var relays: [UInt32: Relay] = [:]
    /// Our own pings to members we heard are suspect (`probeOnSuspicion`), keyed by sequence.
    var suspectProbes: [UInt32: SuspectProbe] = [:]
    var suspicions: [NodeID: Suspicion] = [:]
    /// Dead and departed members, for forgetting them after `tombstoneRetention`.
    var tombstones: Set<NodeID> = []

    // Joining and anti-entropy.
    var seeds: [Address] = []
    var joinAttempts = 0
    var nextJoinAt: Instant?
    var nextPushPullAt: Instant?
    var nextReconnectAt: Instant?
    var reportedConflicts: Set<ConflictKey> = []

    /// Directives produced by the call in progress.
    var outbox: [Directive] = []

    struct Probe: Sendable {
        var target: NodeID
        /// The target's incarnation when the probe started: a failure says nothing about a later one.
        var targetIncarnation: UInt64
        var targetAddress: Address
        var sequence: UInt32
        var directDeadline: Instant
        var deadline: Instant
        var indirectSent = false
        var expectedNacks = 0
        var nacks = 0
    }

    struct Relay: Sendable {
        var originalSequence: UInt32
        var requester: Address
        var target: NodeID
        var deadline: Instant
    }

    struct SuspectProbe: Sendable {
        var target: NodeID
        var incarnation: UInt64
        var deadline: Instant
    }

    struct ConflictKey: Hashable, Sendable {
        var id: NodeID
        var claimant: Address
    }

    /// - Parameters:
    ///   - incarnation: where to start; a restarted node may pass a persisted floor. Without one it
    ///     still comes back above its previous life: gossip about that life makes it refute upwards.
    ///   - seed: the only source of randomness.
    public init(id: NodeID, address: Address, metadata: [UInt8] = [], settings: Settings = .lan,
                seed: UInt64, incarnation: UInt64 = 0) throws(SettingsError) {
        try settings.validate()
        self.settings = settings
        // A floor from a damaged or forged file must not start this life where it could not refute.
        let start = min(incarnation, Member.maximumIncarnation - Member.maximumIncarnationJump)
        self.myself = Member(id: id, address: address, incarnation: start, state: .alive, metadata: metadata)
        self.random = SeededGenerator(seed: seed)
        self.nextSequence = UInt32(truncatingIfNeeded: random.next())
    }

    // MARK: - Reading the state

    public var id: NodeID { myself.id }

    /// Every other member known, tombstones included, in ID order.
    public var members: [Member] { table.values.map(\.member).sorted { $0.id < $1.id } }

    public func member(_ id: NodeID) -> Member? {
        id == myself.id ? myself : table[id]?.member
    }

    /// Alive and suspect members, self included (while not leaving).
    public var activeMemberCount: Int { activeCount + (isLeaving ? 0 : 1) }

    public func payload(forKey key: String) -> AppPayload? { payloads[key] }
    public var allPayloads: [AppPayload] { payloads.values.sorted { $0.key < $1.key } }

    /// When the next join attempt is due, while this node has not joined.
    public var nextJoinAttempt: Instant? { isJoined ? nil : nextJoinAt }

    /// Updates waiting to be piggybacked.
    public var pendingBroadcasts: Int { broadcasts.count }

    /// Our current probe interval, stretched by the local health multiplier.
    public var currentProbeInterval: Duration { settings.probeInterval * (localHealth + 1) }

    /// When the suspicion of a member (if any) will time out here.
    public func suspicionDeadline(of id: NodeID) -> Instant? { suspicions[id]?.deadline(localHealth: localHealth) }

    /// Independent confirmations of the suspicion of a member (if any), the first suspecter excluded.
    public func suspicionConfirmations(of id: NodeID) -> Int? { suspicions[id]?.confirmations }

    /// The latest instant by which `tick(now:)` must be called.
    public var nextDeadline: Instant {
        var deadline = Instant.distantFuture
        func consider(_ instant: Instant?) { if let instant, instant < deadline { deadline = instant } }
        for relay in relays.values { consider(relay.deadline) }
        if isLeaving { return deadline }
        if let probe {
            consider(probe.indirectSent ? probe.deadline : probe.directDeadline)
        } else {
            consider(nextProbeAt)
        }
        for suspicion in suspicions.values { consider(suspicion.deadline(localHealth: localHealth)) }
        for suspectProbe in suspectProbes.values { consider(suspectProbe.deadline) }
        consider(nextPushPullAt)
        consider(nextReconnectAt)
        consider(nextJoinAt)
        return deadline
    }

    // MARK: - Inputs

    /// Joins through the seeds: a push-pull with each, retried with backoff until one answers.
    /// With no seeds (or only our own address) this node starts a new cluster.
    public mutating func join(seeds: [Address], now: Instant) -> [Directive] {
        self.seeds = seeds.filter { $0 != myself.address }
        startTimers(now: now)
        // Announce ourselves too, instead of relying on the seeds to pass the news on: with many
        // simultaneous joins a seed's queue may drop us before everyone has heard.
        broadcasts.enqueue(aliveGossip(of: myself))
        if self.seeds.isEmpty {
            isJoined = true
            nextJoinAt = nil
        } else {
            joinAttempts = 0
            attemptJoin(now: now)
        }
        return flush()
    }

    /// Starts from a converged view (large simulations, tests): every given member known as given.
    public mutating func bootstrap(members: [Member], now: Instant) {
        table.reserveCapacity(table.count + members.count)
        probeOrder.reserveCapacity(probeOrder.count + members.count)
        for member in members where member.id != myself.id && table[member.id] == nil {
            table[member.id] = Entry(member: member, stateChangedAt: now)
            probeOrder.append(member.id)
            if member.state.isActive { activeCount += 1 }
            if !member.state.isActive { tombstones.insert(member.id) }
        }
        shuffleProbeOrder()
        isJoined = true
        startTimers(now: now)
    }

    /// Runs every timer that has come due.
    public mutating func tick(now: Instant) -> [Directive] {
        expireRelays(now: now)
        if !isLeaving {
            if nextProbeAt == nil { startTimers(now: now) }
            advanceProbe(now: now)
            expireSuspectProbes(now: now)
            expireSuspicions(now: now)
            if let due = nextPushPullAt, now >= due { startPeriodicPushPull(now: now) }
            if let due = nextReconnectAt, now >= due { reconnect(now: now) }
            if let due = nextJoinAt, now >= due, !isJoined { attemptJoin(now: now) }
        }
        return flush()
    }

    /// Handles one message. `from` is the address it came from (where datagram replies go); `channel`
    /// says whether it came over a stream, whose answer then goes back on that stream.
    public mutating func receive(_ message: Message, from: Address, over channel: Channel = .datagram, now: Instant) -> [Directive] {
        metrics.received[Int(message.kind.rawValue)] += 1
        if channel == .datagram, message.kind == .pushPullRequest || message.kind == .pushPullResponse {
            // Full state travels on streams only: answering a datagram with it would turn a small
            // forged request into a large reply.
            metrics.misroutedExchanges += 1
            return []
        }
        for gossip in message.piggyback { apply(gossip, now: now) }
        switch message {
        case .ping(let ping):
            if ping.target == myself.id {
                reply(.ack(Ack(sequence: ping.sequence, source: myself.id)), to: from, over: channel,
                      about: ping.source, leading: newsForPinger(ping.source))
            } else {
                metrics.misdirectedPings += 1
            }
        case .pingReq(let request):
            serveIndirectProbe(request, from: from, now: now)
        case .ack(let ack):
            handleAck(ack, now: now)
        case .nack(let nack):
            if probe?.sequence == nack.sequence {
                probe?.nacks += 1
                metrics.nacksReceived += 1
                // Every helper reached us and none reached the target: no need to wait out the period.
                if let current = probe, current.nacks >= current.expectedNacks {
                    probe = nil
                    probeFailed(current, now: now)
                }
            }
        case .gossip:
            break
        case .app(let message):
            if table[message.source]?.member.address == from { probeAnswered(by: message.source) }
            outbox.append(.deliverMessage(message, from: from))
        case .pushPullRequest(let state):
            merge(state, now: now)
            metrics.pushPullsAnswered += 1
            // Members and payloads only when the asker may lack some: it sent them, or a digest unlike ours.
            let sameMembers = state.memberDigest == memberDigest
            let samePayloads = state.payloadDigest == payloadDigest
            outbox.append(.replyOnStream(.pushPullResponse(localState(join: false, omittingMembers: sameMembers,
                                                                      omittingPayloads: samePayloads))))
            // A member that joined through us exchanged full state with us: we are part of its cluster
            // now, as surely as if our own join had been answered. Waiting for our next join retry
            // would leave a first server alone for up to `maxJoinRetryInterval`.
            markJoined()
        case .pushPullResponse(let state):
            merge(state, now: now)
            markJoined()
            answerDifferingTable(state, from: from)
        }
        return flush()
    }

    mutating func markJoined() {
        guard !isJoined else { return }
        isJoined = true
        nextJoinAt = nil
    }

    /// Leaves gracefully: tells members at once and through piggyback. The instance then only answers
    /// pings (whose acks carry the news) and serves indirect probes; the driver stops it after a few
    /// probe intervals, so nobody that has not yet heard suspects it.
    public mutating func leave(now: Instant) -> [Directive] {
        guard !isLeaving else { return [] }
        isLeaving = true
        myself.state = .left
        let news = Gossip.left(id: myself.id, incarnation: myself.incarnation)
        broadcasts.enqueue(news)
        probe = nil
        suspectProbes.removeAll()
        suspicions.removeAll()
        nextPushPullAt = nil
        nextReconnectAt = nil
        nextJoinAt = nil
        for target in randomActiveMembers(count: settings.leaveFanout, excluding: []) {
            sendGossip([news], to: target.address)
        }
        return flush()
    }

    /// Publishes an application payload: stored, disseminated, and sent at once to a few members when
    /// `urgent`. Ignored unless its version is newer than the one we hold for its key.
    public mutating func publish(_ payload: AppPayload, urgent: Bool = false, now: Instant) -> [Directive] {
        let held = payloads[payload.key]
        if let held, held.version >= payload.version { return [] }
        store(payload)
        broadcasts.enqueue(.payload(payload), limit: retransmitLimit(of: payload, replacing: held))
        if urgent { sendUrgent(.payload(payload)) }
        return flush()
    }

    /// Sends an application message to a member; nothing happens if the member is unknown or gone.
    public mutating func sendApplicationMessage(_ bytes: [UInt8], to id: NodeID) -> [Directive] {
        guard let target = table[id]?.member, target.state.isActive else { return [] }
        metrics.sent[Int(MessageKind.app.rawValue)] += 1
        outbox.append(.send(.app(AppMessage(source: myself.id, bytes: bytes)), to: target.address))
        return flush()
    }

    /// Probes a member now, directly, through `indirectChecks` helpers and over a stream (with
    /// `streamFallbackPing`) at once, outside the probe schedule. The application calls this when a request to the member timed out: the request path
    /// is a failure detector too. No answer within the probe timeout makes us suspect the member.
    public mutating func probeNow(_ id: NodeID, now: Instant) -> [Directive] {
        guard let target = table[id]?.member, target.state.isActive else { return [] }
        startOutOfBandProbe(target, indirect: true, overStream: settings.streamFallbackPing, now: now)
        return flush()
    }

    /// Probes a member outside the schedule, over a datagram and a stream at once, without helpers:
    /// for an application that checks one member every period (a standby watching the active node).
    /// No helpers, because each answer the member sends carries its piggybacked news, and a member
    /// answering four probers every period would spend its news's transmissions on them; a stream,
    /// because a lost datagram must not make the member suspect. No answer on either within the
    /// probe timeout makes us suspect it.
    public mutating func watch(_ id: NodeID, now: Instant) -> [Directive] {
        guard let target = table[id]?.member, target.state.isActive else { return [] }
        startOutOfBandProbe(target, indirect: false, overStream: settings.streamFallbackPing, now: now)
        return flush()
    }

    /// Changes our metadata (a new incarnation carries it to everyone).
    public mutating func updateMetadata(_ metadata: [UInt8], now: Instant) -> [Directive] {
        guard metadata != myself.metadata, !isLeaving else { return [] }
        myself.metadata = metadata
        myself.incarnation += 1
        broadcasts.enqueue(aliveGossip(of: myself))
        return flush()
    }

    // MARK: - Output helpers

    mutating func flush() -> [Directive] {
        defer { outbox.removeAll(keepingCapacity: true) }
        return outbox
    }

    mutating func emit(_ kind: MembershipEvent.Kind, now: Instant) {
        outbox.append(.event(MembershipEvent(at: now, kind: kind)))
    }

    /// Sends a datagram, filling what the budget leaves with piggybacked updates. `about` is the
    /// member the message is addressed to, so a suspicion of it goes first (buddy system).
    mutating func send(_ message: Message, to address: Address, about target: NodeID? = nil) {
        var message = message
        fillPiggyback(&message, to: address, about: target)
        metrics.sent[Int(message.kind.rawValue)] += 1
        outbox.append(.send(message, to: address))
    }

    /// Fills what the message's budget leaves with piggybacked updates: `leading` first (news for the
    /// addressee that is no longer queued), then the queued update about `target` (the buddy system:
    /// a suspect hears of its suspicion first), then the best of the rest.
    mutating func fillPiggyback(_ message: inout Message, to address: Address, about target: NodeID?, leading: Gossip? = nil) {
        var room = settings.maxMessageSize - WireSize.fixedPart(of: message) - 2
        var piggyback: [Gossip] = []
        if let leading, WireSize.of(leading) <= room {
            piggyback.append(leading)
            room -= WireSize.of(leading)
        }
        if room >= BroadcastQueue.smallestUpdate, !broadcasts.isEmpty {
            piggyback += broadcasts.take(budget: room, limit: retransmitLimit, first: target.map { .member($0) }, for: address)
        }
        if !piggyback.isEmpty { message.setPiggyback(piggyback) }
    }

    /// Answers a message: with a datagram to its sender, or on the stream it came over. `about` and
    /// `leading` as for `fillPiggyback`.
    mutating func reply(_ message: Message, to address: Address, over channel: Channel, about target: NodeID? = nil,
                        leading: Gossip? = nil) {
        var message = message
        fillPiggyback(&message, to: address, about: target, leading: leading)
        metrics.sent[Int(message.kind.rawValue)] += 1
        switch channel {
        case .datagram: outbox.append(.send(message, to: address))
        case .stream: outbox.append(.replyOnStream(message))
        }
    }

    /// A member we hold dead (or suspect) is pinging us: it does not know, or it could refute. When
    /// the news about it has left our queue (sent often enough), tell it again in our answer. After a
    /// partition heals this is how a node that everyone else holds dead hears of it within a period,
    /// instead of waiting for a push-pull.
    mutating func newsForPinger(_ id: NodeID) -> Gossip? {
        guard let entry = table[id], broadcasts.queued(.member(id)) == nil else { return nil }
        switch entry.member.state {
        case .dead: return .dead(id: id, incarnation: entry.member.incarnation, declarer: myself.id)
        case .suspect: return .suspect(id: id, incarnation: entry.member.incarnation, suspecter: myself.id)
        case .alive, .left: return nil
        }
    }

    mutating func sendGossip(_ updates: [Gossip], to address: Address) {
        let message = Message.gossip(GossipMessage(source: myself.id, piggyback: updates))
        metrics.sent[Int(MessageKind.gossip.rawValue)] += 1
        outbox.append(.send(message, to: address))
    }

    /// Urgent news (a suspicion, a death, a departure, a refutation) goes straight to a few random
    /// members instead of waiting for the next probe to carry it.
    mutating func sendUrgent(_ gossip: Gossip) {
        guard settings.urgentGossipFanout > 0 else { return }
        for member in randomActiveMembers(count: settings.urgentGossipFanout, excluding: [gossip.memberID].compactMap { $0 }) {
            sendGossip([gossip], to: member.address)
        }
    }

    /// How often each update is piggybacked: retransmitMultiplier * ceil(log10(n + 1)).
    var retransmitLimit: Int {
        let n = Double(activeMemberCount + 1)
        return settings.retransmitMultiplier * max(1, Int(log10(n).rounded(.up)))
    }

    mutating func takeSequence() -> UInt32 {
        nextSequence &+= 1
        return nextSequence
    }

    func aliveGossip(of member: Member) -> Gossip {
        .alive(id: member.id, incarnation: member.incarnation, address: member.address, metadata: member.metadata)
    }

    /// Up to `count` distinct random alive or suspect members, never self or the excluded.
    ///
    /// Draws from the probe list with rejection (cheap at any cluster size), falling back to a full
    /// scan when most members are inactive or the request nearly exhausts them.
    mutating func randomActiveMembers(count: Int, excluding: [NodeID]) -> [Member] {
        guard count > 0, activeCount > 0, !probeOrder.isEmpty else { return [] }
        var chosen: [Member] = []
        var seen: Set<NodeID> = []
        if activeCount > 2 * count {
            var attempts = 0
            while chosen.count < count, attempts < 8 * count {
                attempts += 1
                let id = probeOrder[random.below(probeOrder.count)]
                guard !excluding.contains(id), let entry = table[id], entry.member.state.isActive,
                      seen.insert(id).inserted else { continue }
                chosen.append(entry.member)
            }
            if chosen.count == count { return chosen }
        }
        var pool = table.values.map(\.member)
            .filter { $0.state.isActive && !excluding.contains($0.id) && !seen.contains($0.id) }
            .sorted { $0.id < $1.id }   // dictionary order varies between runs; one seed must replay exactly
        let wanted = count - chosen.count
        if pool.count > wanted {
            // Partial Fisher-Yates: only the first `wanted` positions are drawn.
            for i in 0..<wanted { pool.swapAt(i, i + random.below(pool.count - i)) }
            pool.removeLast(pool.count - wanted)
        }
        return chosen + pool
    }
}

extension Message {
    /// Drops the application payloads (piggybacked, or in a full state) that `keep` refuses; returns
    /// how many. The application's own check, made before SWIM stores a version it would then hold
    /// against every later, genuine one.
    public mutating func removePayloads(where reject: (AppPayload) -> Bool) -> Int {
        switch self {
        case .pushPullRequest(var state), .pushPullResponse(var state):
            let before = state.payloads.count
            state.payloads.removeAll(where: reject)
            let removed = before - state.payloads.count
            guard removed > 0 else { return 0 }
            self = if case .pushPullRequest = self { .pushPullRequest(state) } else { .pushPullResponse(state) }
            return removed
        default:
            var updates = piggyback
            let before = updates.count
            updates.removeAll { if case .payload(let payload) = $0 { reject(payload) } else { false } }
            guard updates.count < before else { return 0 }
            setPiggyback(updates)
            return before - updates.count
        }
    }

    mutating func setPiggyback(_ updates: [Gossip]) {
        switch self {
        case .ping(var m): m.piggyback = updates; self = .ping(m)
        case .pingReq(var m): m.piggyback = updates; self = .pingReq(m)
        case .ack(var m): m.piggyback = updates; self = .ack(m)
        case .gossip(var m): m.piggyback = updates; self = .gossip(m)
        case .nack, .pushPullRequest, .pushPullResponse, .app: break
        }
    }
}

extension Duration {
    static func * (lhs: Duration, rhs: Int) -> Duration { .nanoseconds(lhs.nanoseconds &* Int64(rhs)) }
}
