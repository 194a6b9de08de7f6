/// Anti-entropy and joining: full-state exchanges merged with the same precedence rules as gossip.
extension SWIMInstance {
    /// Our full state: ourselves, every member we know (tombstones included) and every payload, or
    /// the members' and the payloads' digests in their place.
    func localState(join: Bool, omittingMembers: Bool = false, omittingPayloads: Bool = false) -> PushPullState {
        var state = PushPullState(join: join, source: myself.id, members: [], payloads: [])
        if omittingMembers {
            state.memberDigest = memberDigest
        } else {
            state.members.reserveCapacity(table.count + 1)
            state.members.append(myself)
            for entry in table.values.sorted(by: { $0.member.id < $1.member.id }) { state.members.append(entry.member) }
        }
        if omittingPayloads {
            state.payloadDigest = payloadDigest
        } else {
            state.payloads = Array(payloads.values)
        }
        return state
    }

    /// `MemberDigest` of the member table and ourselves: one pass, once per exchange.
    var memberDigest: UInt64 {
        table.values.reduce(MemberDigest.of(myself)) { $0 ^ MemberDigest.of($1.member) }
    }

    /// Merges a remote full state. Each row becomes the update it implies; a suspect row about a member
    /// we have never heard of introduces it first, so a joining node learns of current suspicions too.
    mutating func merge(_ state: PushPullState, now: Instant) {
        for member in state.members {
            guard isPlausible(member.incarnation, about: member.id) else {
                metrics.implausibleUpdates += 1
                continue
            }
            switch member.state {
            case .alive:
                apply(aliveGossip(of: member), now: now)
            case .suspect:
                if member.id != myself.id, table[member.id] == nil {
                    var introduced = member
                    introduced.state = .alive
                    applyAlive(introduced, now: now)
                }
                apply(.suspect(id: member.id, incarnation: member.incarnation, suspecter: state.source), now: now)
            case .dead:
                apply(.dead(id: member.id, incarnation: member.incarnation, declarer: state.source), now: now)
            case .left:
                apply(.left(id: member.id, incarnation: member.incarnation), now: now)
            }
        }
        for payload in state.payloads { applyPayload(payload) }
    }

    mutating func attemptJoin(now: Instant) {
        let backoff = settings.joinRetryInterval * (1 << min(joinAttempts, 16))
        nextJoinAt = now + min(backoff, settings.maxJoinRetryInterval)
        joinAttempts += 1
        let state = localState(join: true)
        for seed in seeds {
            metrics.pushPullsStarted += 1
            outbox.append(.pushPull(state, to: seed))
        }
    }

    /// Anti-entropy with a random member. Members and payloads go as digests: in a settled cluster
    /// every table and store is the same and the exchange carries 16 bytes of state; a partner whose
    /// digest differs answers with all its members (or payloads); it gets our members in a follow-up
    /// exchange if ours still differ (`answerDifferingTable`), our payloads when it starts an exchange
    /// with us. Joins send everything: the joiner's state is what the other side lacks.
    mutating func startPeriodicPushPull(now: Instant) {
        nextPushPullAt = now + pushPullInterval
        guard let partner = randomActiveMembers(count: 1, excluding: []).first else { return }
        metrics.pushPullsStarted += 1
        // Bounded: a partner that never answers (its stream broke) stays in the set until the next
        // exchange with it; clearing the set when it grows keeps a lost answer from costing memory.
        if digestExchangePartners.count > 64 { digestExchangePartners.removeAll() }
        digestExchangePartners.insert(partner.address)
        outbox.append(.pushPull(localState(join: false, omittingMembers: true, omittingPayloads: true), to: partner.address))
    }

    /// A partner answered a periodic exchange with its rows: its table differed from ours. If ours
    /// still differs from what it sent (we know something it does not), it gets our rows in an
    /// exchange of their own, so that anti-entropy runs both ways as when every exchange carried
    /// every row; equal tables cost nothing more.
    mutating func answerDifferingTable(_ state: PushPullState, from partner: Address) {
        // Only after our own digest exchange: the follow-up's answer must not start another one.
        guard digestExchangePartners.remove(partner) != nil else { return }
        guard !state.join, state.memberDigest == nil, !state.members.isEmpty, !isLeaving else { return }
        let theirs = state.members.reduce(0) { $0 ^ MemberDigest.of($1) }
        guard theirs != memberDigest else { return }
        metrics.pushPullsStarted += 1
        outbox.append(.pushPull(localState(join: false, omittingPayloads: true), to: partner))
    }

    /// Try a member we hold dead: after a partition (or a host cut off and plugged back in) each side
    /// holds the other dead, and nothing else would ever cross again. If it answers, the merge makes
    /// both sides refute and the cluster heals; if not, one exchange was wasted, so it carries the
    /// payloads' digest, not the payloads: a side that differs answers with its own, and each side's
    /// reach the other through the other's reconnect (both hold each other dead) or its next exchange.
    mutating func reconnect(now: Instant) {
        nextReconnectAt = settings.reconnectInterval > .zero ? now + settings.reconnectInterval : nil
        guard let dead = randomDeadMember() else { return }
        metrics.pushPullsStarted += 1
        outbox.append(.pushPull(localState(join: false, omittingPayloads: true), to: dead.address))
    }

    mutating func randomDeadMember() -> Member? {
        let dead = tombstones.sorted().compactMap { table[$0]?.member }.filter { $0.state == .dead }
        guard !dead.isEmpty else { return nil }
        return dead[random.below(dead.count)]
    }
}
