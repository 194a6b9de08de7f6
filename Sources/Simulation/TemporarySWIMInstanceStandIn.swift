// TEMPORARY: a crude stand-in with the public API of the lead's SWIMInstance, so that the simulator
// builds and its engine can be tested before the real protocol core lands on main. Deleted when main
// has Sources/SWIM/SWIMInstance.swift. Not SWIM: no indirect probes, no Lifeguard, no piggyback.
import SWIM

public struct SWIMInstance: Sendable {
    public let id: NodeID
    let address: Address
    let settings: Settings
    var incarnation: UInt64
    var random: SeededGenerator
    var table: [NodeID: Member] = [:]
    var order: [NodeID] = []
    var orderIndex = 0
    var nextProbe = Instant.distantFuture
    var pending: (target: NodeID, sequence: UInt32, deadline: Instant)?
    var suspicions: [NodeID: Instant] = [:]
    var sequence: UInt32 = 0
    public private(set) var isJoined = false
    public private(set) var metrics = SWIMMetrics()
    public var localHealth: Int { 0 }

    public init(id: NodeID, address: Address, metadata: [UInt8] = [], settings: Settings = .lan, seed: UInt64, incarnation: UInt64 = 0) throws(SettingsError) {
        try settings.validate()
        self.id = id; self.address = address; self.settings = settings
        self.incarnation = incarnation
        random = SeededGenerator(seed: seed)
    }

    public var myself: Member { Member(id: id, address: address, incarnation: incarnation, state: .alive) }
    public var members: [Member] { order.compactMap { table[$0] } }
    public func member(_ id: NodeID) -> Member? { table[id] }
    public var activeMemberCount: Int { table.values.filter(\.state.isActive).count + 1 }
    public var nextDeadline: Instant {
        var next = nextProbe
        if let pending { next = min(next, pending.deadline) }
        for deadline in suspicions.values { next = min(next, deadline) }
        return next
    }

    public mutating func bootstrap(members: [Member], now: Instant) {
        for m in members where m.id != id { add(m) }
        isJoined = true
        nextProbe = now + settings.probeInterval
    }

    public mutating func join(seeds: [Address], now: Instant) -> [Directive] {
        nextProbe = now + settings.probeInterval
        isJoined = true
        return seeds.map { .pushPull(state(join: true), to: $0) }
    }

    public mutating func tick(now: Instant) -> [Directive] {
        var out: [Directive] = []
        if let p = pending, now >= p.deadline {
            pending = nil
            if var m = table[p.target], m.state == .alive {
                m.state = .suspect; table[p.target] = m
                suspicions[p.target] = now + settings.probeInterval * 3
                out.append(.event(MembershipEvent(at: now, kind: .suspected(m, by: id))))
                out += gossip(.suspect(id: m.id, incarnation: m.incarnation, suspecter: id))
            }
        }
        for (target, deadline) in suspicions.sorted(by: { $0.key < $1.key }) where now >= deadline {
            suspicions[target] = nil
            if var m = table[target], m.state == .suspect {
                m.state = .dead; table[target] = m
                out.append(.event(MembershipEvent(at: now, kind: .confirmedDead(m, by: id))))
                out += gossip(.dead(id: m.id, incarnation: m.incarnation, declarer: id))
            }
        }
        if now >= nextProbe {
            nextProbe = now + settings.probeInterval
            let active = order.filter { table[$0]?.state.isActive == true }
            if !active.isEmpty {
                orderIndex = (orderIndex + 1) % active.count
                let target = active[orderIndex]
                sequence &+= 1
                pending = (target, sequence, now + settings.probeTimeout)
                metrics.probes += 1
                if let m = table[target] { out.append(.send(.ping(Ping(sequence: sequence, target: target, source: id)), to: m.address)) }
            }
        }
        return out
    }

    public mutating func receive(_ message: Message, from: Address, now: Instant) -> [Directive] {
        switch message {
        case .ping(let ping):
            return [.send(.ack(Ack(sequence: ping.sequence, source: id)), to: from)]
        case .ack(let ack):
            if pending?.sequence == ack.sequence { pending = nil }
            return []
        case .gossip(let g):
            var out: [Directive] = []
            for item in g.piggyback { out += apply(item, now: now) }
            return out
        case .pushPullRequest(let s):
            var out = merge(s, now: now)
            out.append(.replyPushPull(state(join: false), to: from))
            return out
        case .pushPullResponse(let s):
            return merge(s, now: now)
        case .pingReq, .nack:
            return []
        }
    }

    public mutating func leave(now: Instant) -> [Directive] {
        order.compactMap { table[$0] }.map { .send(.gossip(GossipMessage(source: id, piggyback: [.left(id: id, incarnation: incarnation)])), to: $0.address) }
    }

    public mutating func publish(_ payload: AppPayload, now: Instant) -> [Directive] { [] }

    mutating func add(_ m: Member) {
        if table[m.id] == nil { order.insert(m.id, at: order.isEmpty ? 0 : random.below(order.count + 1)) }
        table[m.id] = m
    }

    func state(join: Bool) -> PushPullState {
        PushPullState(join: join, source: id, members: [myself] + members, payloads: [])
    }

    mutating func merge(_ s: PushPullState, now: Instant) -> [Directive] {
        var out: [Directive] = []
        for m in s.members where m.id != id {
            if let known = table[m.id] {
                if m.incarnation > known.incarnation && m.state == .alive {
                    table[m.id] = m
                    suspicions[m.id] = nil
                    out.append(.event(MembershipEvent(at: now, kind: known.state == .alive ? .updated(m) : .joined(m))))
                }
            } else if m.state.isActive {
                add(m)
                out.append(.event(MembershipEvent(at: now, kind: .joined(m))))
            }
        }
        return out
    }

    mutating func apply(_ g: Gossip, now: Instant) -> [Directive] {
        switch g {
        case .suspect(let target, let inc, let by), .dead(let target, let inc, let by):
            if target == id {
                guard inc >= incarnation else { return [] }
                incarnation = inc + 1
                metrics.refutations += 1
                return [.event(MembershipEvent(at: now, kind: .refutedSuspicionOfSelf(incarnation: incarnation)))]
                    + gossip(.alive(id: id, incarnation: incarnation, address: address, metadata: []))
            }
            guard var m = table[target], m.incarnation <= inc, m.state.isActive else { return [] }
            if case .dead = g {
                m.state = .dead; m.incarnation = inc; table[target] = m; suspicions[target] = nil
                return [.event(MembershipEvent(at: now, kind: .confirmedDead(m, by: by)))]
            }
            guard m.state == .alive else { return [] }
            m.state = .suspect; m.incarnation = inc; table[target] = m
            suspicions[target] = now + settings.probeInterval * 3
            return [.event(MembershipEvent(at: now, kind: .suspected(m, by: by)))]
        case .alive(let target, let inc, let address, let metadata):
            guard target != id else { return [] }
            if let m = table[target], m.incarnation >= inc { return [] }
            let wasKnown = table[target] != nil
            let m = Member(id: target, address: address, incarnation: inc, state: .alive, metadata: metadata)
            add(m); suspicions[target] = nil
            return [.event(MembershipEvent(at: now, kind: wasKnown ? .refuted(m) : .joined(m)))]
        case .left(let target, let inc):
            guard var m = table[target], m.state.isActive else { return [] }
            m.state = .left; m.incarnation = inc; table[target] = m; suspicions[target] = nil
            return [.event(MembershipEvent(at: now, kind: .left(m)))]
        case .payload:
            return []
        }
    }

    mutating func gossip(_ g: Gossip) -> [Directive] {
        let active = order.filter { table[$0]?.state.isActive == true }
        guard !active.isEmpty else { return [] }
        return (0..<3).compactMap { _ in
            table[active[random.below(active.count)]].map { .send(.gossip(GossipMessage(source: id, piggyback: [g])), to: $0.address) }
        }
    }
}
