/// SWIM's precedence rules: how an update about a member changes what we believe.
///
/// For an update about member M at incarnation j, when we hold M at incarnation i:
///
/// | incoming \ held | alive(i)  | suspect(i) | dead(i)   | left(i)   |
/// |-----------------|-----------|------------|-----------|-----------|
/// | alive(j)        | j > i     | j > i      | j > i     | j > i     |
/// | suspect(j)      | j >= i    | j > i (j == i: a confirmation) | never | never |
/// | dead(j)         | j >= i    | j >= i     | never     | never     |
/// | left(j)         | j >= i    | j >= i     | j >= i    | j > i     |
///
/// Alive with a higher incarnation overrides everything (a refutation, or a new life); suspect
/// overrides alive of an equal incarnation; dead overrides both unless a higher incarnation is alive;
/// left is final for its incarnation. Updates about unknown members introduce them only when alive.
/// Every accepted update is queued for further dissemination; rejected ones are counted.
extension SWIMInstance {
    mutating func apply(_ gossip: Gossip, now: Instant) {
        if let id = gossip.memberID, let incarnation = gossip.incarnation, !isPlausible(incarnation, about: id) {
            metrics.implausibleUpdates += 1
            return
        }
        switch gossip {
        case .alive(let id, let incarnation, let address, let metadata):
            if id == myself.id {
                aliveAboutSelf(incarnation: incarnation, address: address, metadata: metadata, now: now)
            } else {
                applyAlive(Member(id: id, address: address, incarnation: incarnation, state: .alive, metadata: metadata), now: now)
            }
        case .suspect(let id, let incarnation, let suspecter):
            if id == myself.id { refute(incarnation: incarnation, accuser: suspecter, now: now) } else {
                applySuspect(id: id, incarnation: incarnation, suspecter: suspecter, now: now)
            }
        case .dead(let id, let incarnation, let declarer):
            if id == myself.id { refute(incarnation: incarnation, accuser: declarer, now: now) } else {
                applyDead(id: id, incarnation: incarnation, declarer: declarer, now: now)
            }
        case .left(let id, let incarnation):
            if id == myself.id {
                // A previous life of ours left; we are back and say so.
                if !isLeaving { refute(incarnation: incarnation, now: now) }
            } else {
                applyLeft(id: id, incarnation: incarnation, now: now)
            }
        case .payload(let payload):
            applyPayload(payload)
        }
    }

    /// Whether an incarnation about a member could be real (see `Member.maximumIncarnation`).
    func isPlausible(_ incarnation: UInt64, about id: NodeID) -> Bool {
        guard incarnation < Member.maximumIncarnation else { return false }
        if incarnation < Member.maximumFreeIncarnation { return true }
        guard let known = id == myself.id ? myself.incarnation : table[id]?.member.incarnation else { return false }
        return incarnation - min(incarnation, known) <= Member.maximumIncarnationJump
    }

    mutating func applyAlive(_ incoming: Member, now: Instant) {
        guard let entry = table[incoming.id] else {
            table[incoming.id] = Entry(member: incoming, stateChangedAt: now)
            activeCount += 1
            insertIntoProbeOrder(incoming.id)
            accepted(aliveGossip(of: incoming))
            emit(.joined(incoming), now: now)
            return
        }
        let held = entry.member
        if incoming.address != held.address, held.state.isActive {
            // Two live claims on one ID: report, never merge. The held entry stays until it fails.
            reportConflict(id: incoming.id, known: held.address, claimant: incoming.address, now: now)
            metrics.updatesIgnored += 1
            return
        }
        guard incoming.incarnation > held.incarnation else {
            metrics.updatesIgnored += 1
            return
        }
        table[incoming.id] = Entry(member: incoming, stateChangedAt: held.state == .alive ? entry.stateChangedAt : now)
        suspicions[incoming.id] = nil
        accepted(aliveGossip(of: incoming))
        switch held.state {
        case .suspect:
            emit(.refuted(incoming), now: now)
        case .dead, .left:
            activeCount += 1
            tombstones.remove(incoming.id)
            emit(.joined(incoming), now: now)
        case .alive:
            if held.address != incoming.address || held.metadata != incoming.metadata {
                emit(.updated(incoming), now: now)
            }
        }
    }

    mutating func applySuspect(id: NodeID, incarnation: UInt64, suspecter: NodeID, now: Instant) {
        guard var entry = table[id] else { metrics.updatesIgnored += 1; return }
        let held = entry.member
        let gossip = Gossip.suspect(id: id, incarnation: incarnation, suspecter: suspecter)
        switch held.state {
        case .dead, .left:
            metrics.updatesIgnored += 1
        case .suspect where incarnation == held.incarnation:
            // Same suspicion from someone else: an independent confirmation shortens the timeout.
            if suspicions[id]?.confirm(by: suspecter) == true {
                accepted(gossip)
            } else {
                metrics.updatesIgnored += 1
            }
        case .suspect where incarnation < held.incarnation, .alive where incarnation < held.incarnation:
            metrics.updatesIgnored += 1
        case .alive, .suspect:
            entry.member.state = .suspect
            entry.member.incarnation = incarnation
            entry.stateChangedAt = now
            table[id] = entry
            suspicions[id] = Suspicion(incarnation: incarnation, by: suspecter, at: now,
                                       clusterSize: activeMemberCount, settings: settings)
            accepted(gossip)
            emit(.suspected(entry.member, by: suspecter), now: now)
            sendUrgent(gossip)
            if suspecter != myself.id { probeSuspect(entry.member, now: now) }
        }
    }

    mutating func applyDead(id: NodeID, incarnation: UInt64, declarer: NodeID, now: Instant) {
        guard var entry = table[id], entry.member.state.isActive, incarnation >= entry.member.incarnation else {
            metrics.updatesIgnored += 1
            return
        }
        entry.member.state = .dead
        entry.member.incarnation = incarnation
        entry.stateChangedAt = now
        table[id] = entry
        becameInactive(id)
        let gossip = Gossip.dead(id: id, incarnation: incarnation, declarer: declarer)
        accepted(gossip)
        sendUrgent(gossip)
        emit(.confirmedDead(entry.member, by: declarer), now: now)
    }

    mutating func applyLeft(id: NodeID, incarnation: UInt64, now: Instant) {
        guard var entry = table[id] else { metrics.updatesIgnored += 1; return }
        let held = entry.member
        let newer = held.state == .left ? incarnation > held.incarnation : incarnation >= held.incarnation
        guard newer else { metrics.updatesIgnored += 1; return }
        entry.member.state = .left
        entry.member.incarnation = incarnation
        entry.stateChangedAt = now
        table[id] = entry
        if held.state.isActive { becameInactive(id) }
        let gossip = Gossip.left(id: id, incarnation: incarnation)
        accepted(gossip)
        if held.state != .left {
            sendUrgent(gossip)
            emit(.left(entry.member), now: now)
        }
    }

    mutating func applyPayload(_ payload: AppPayload) {
        let held = payloads[payload.key]
        if let held, held.version >= payload.version {
            metrics.updatesIgnored += 1
            return
        }
        store(payload)
        metrics.updatesApplied += 1
        broadcasts.enqueue(.payload(payload), limit: retransmitLimit(of: payload, replacing: held))
        outbox.append(.deliver(payload))
    }

    /// Stores a payload (newer than any held for its key) and updates the store's digest.
    mutating func store(_ payload: AppPayload) {
        if let replaced = payloads.updateValue(payload, forKey: payload.key) { payloadDigest ^= PayloadDigest.of(replaced) }
        payloadDigest ^= PayloadDigest.of(payload)
    }

    /// Someone says we are suspect, dead or gone at `incarnation`: if that is news about our current
    /// life, raise our incarnation above it and tell everyone (refutation), the accuser first: it is the
    /// one about to declare us dead, and the urgent fan-out picks its members at random.
    mutating func refute(incarnation: UInt64, accuser: NodeID? = nil, now: Instant) {
        guard !isLeaving else {
            metrics.updatesIgnored += 1
            return
        }
        guard incarnation >= myself.incarnation else {
            // Refuted already, but the accuser has not heard: our refutation to it was lost, and gossip
            // may miss it until its suspicion ends in a death. Tell it again, directly (one datagram
            // per accusation it sends us, as the buddy system does: it pings us with the suspicion).
            metrics.updatesIgnored += 1
            if let accuser, accuser != myself.id, let member = table[accuser]?.member, member.state.isActive {
                sendGossip([aliveGossip(of: myself)], to: member.address)
            }
            return
        }
        myself.incarnation = incarnation + 1   // below maximumIncarnation: `apply` checked it
        metrics.refutations += 1
        adjustHealth(by: 1)  // Lifeguard: being suspected hints that we are the slow one
        let gossip = aliveGossip(of: myself)
        broadcasts.enqueue(gossip)
        sendUrgent(gossip)
        if let accuser, accuser != myself.id, let member = table[accuser]?.member, member.state.isActive {
            sendGossip([gossip], to: member.address)
        }
        emit(.refutedSuspicionOfSelf(incarnation: myself.incarnation), now: now)
    }

    /// An alive update about our own ID: from our previous life (raise our incarnation past it), or
    /// from another node using our ID (report the conflict).
    mutating func aliveAboutSelf(incarnation: UInt64, address: Address, metadata: [UInt8], now: Instant) {
        if address != myself.address {
            reportConflict(id: myself.id, known: myself.address, claimant: address, now: now)
            return
        }
        let stale = incarnation < myself.incarnation
            || (incarnation == myself.incarnation && metadata == myself.metadata)
        guard !stale, !isLeaving else { return }
        myself.incarnation = incarnation + 1
        broadcasts.enqueue(aliveGossip(of: myself))
    }

    mutating func reportConflict(id: NodeID, known: Address, claimant: Address, now: Instant) {
        if reportedConflicts.count > 1024 { reportedConflicts.removeAll() }
        guard reportedConflicts.insert(ConflictKey(id: id, claimant: claimant)).inserted else { return }
        emit(.idConflict(id: id, known: known, claimant: claimant), now: now)
    }

    /// An update we believe now: count it and pass it on.
    mutating func accepted(_ gossip: Gossip) {
        metrics.updatesApplied += 1
        broadcasts.enqueue(gossip, limit: nil)
    }

    /// A payload its publisher refreshes periodically is passed on `periodicRetransmitLimit` times by
    /// each node (`retransmitMultiplier` unless the application says), not λ·log(n): a node that
    /// misses one version gets the next, so the full budget would buy nothing but bytes. Only a
    /// version that continues the one held, though: the same upper 32 bits (the publisher's term, an
    /// authority's epoch say, with a counter below). A new term is news every node must hear, with
    /// the full budget.
    func retransmitLimit(of payload: AppPayload, replacing held: AppPayload?) -> Int? {
        guard periodicPayloadKeys.contains(payload.key), let held, held.version >> 32 == payload.version >> 32 else { return nil }
        return max(1, periodicRetransmitLimit ?? settings.retransmitMultiplier)
    }

    mutating func becameInactive(_ id: NodeID) {
        activeCount -= 1
        suspicions[id] = nil
        tombstones.insert(id)
        if probe?.target == id { probe = nil }
    }
}
