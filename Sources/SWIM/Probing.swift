#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Failure detection: one probe per protocol period, round-robin over a shuffled member list.
extension SWIMInstance {
    /// Arms the periodic timers at a random phase, so members started together do not probe in lockstep.
    mutating func startTimers(now: Instant) {
        if nextProbeAt == nil {
            nextProbeAt = now + settings.probeInterval.scaled(by: random.unit())
        }
        if nextPushPullAt == nil, settings.pushPullInterval > .zero {
            nextPushPullAt = now + pushPullInterval.scaled(by: 0.5 + random.unit())
        }
        if nextReconnectAt == nil, settings.reconnectInterval > .zero {
            nextReconnectAt = now + settings.reconnectInterval.scaled(by: 0.5 + random.unit())
        }
    }

    /// The push-pull period, stretched above 32 members so the cluster's total sync load stays flat.
    var pushPullInterval: Duration {
        let n = activeMemberCount
        guard n > 32 else { return settings.pushPullInterval }
        let factor = (log2(Double(n)) - 5).rounded(.up) + 1
        return settings.pushPullInterval.scaled(by: factor)
    }

    /// Moves the current probe through its stages, and starts the next one when its time has come.
    mutating func advanceProbe(now: Instant) {
        if var current = probe {
            if !current.indirectSent, now >= current.directDeadline {
                sendIndirectProbes(&current, now: now)
                probe = current
            }
            if now >= current.deadline {
                probe = nil
                probeFailed(current, now: now)
            }
        }
        if probe == nil, let due = nextProbeAt, now >= due {
            startProbe(now: now)
        }
    }

    mutating func startProbe(now: Instant) {
        let scale = localHealth + 1
        nextProbeAt = now + settings.probeInterval * scale
        forgetExpiredTombstones(now: now)
        guard let target = nextProbeTarget() else { return }
        let sequence = takeSequence()
        probe = Probe(target: target.id, targetIncarnation: target.incarnation, targetAddress: target.address, sequence: sequence,
                      directDeadline: now + settings.probeTimeout * scale,
                      deadline: now + settings.probeInterval * scale)
        metrics.probes += 1
        send(.ping(Ping(sequence: sequence, target: target.id, source: myself.id)), to: target.address, about: target.id)
    }

    /// The next alive or suspect member in the shuffled order; reshuffles after each full pass.
    mutating func nextProbeTarget() -> Member? {
        guard activeCount > 0 else { return nil }
        var reshuffled = false
        while true {
            if probeCursor >= probeOrder.count {
                if reshuffled { return nil }
                reshuffled = true
                probeOrder = probeOrder.filter { table[$0] != nil }
                shuffleProbeOrder()
            }
            let id = probeOrder[probeCursor]
            probeCursor += 1
            if let entry = table[id], entry.member.state.isActive { return entry.member }
        }
    }

    mutating func shuffleProbeOrder() {
        probeCursor = 0
        guard probeOrder.count > 1 else { return }
        for i in stride(from: probeOrder.count - 1, to: 0, by: -1) {
            probeOrder.swapAt(i, random.below(i + 1))
        }
    }

    /// A new member goes to a random position in the rest of this pass (SWIM's bound on detection time:
    /// every member is probed once per pass, whenever it arrived).
    mutating func insertIntoProbeOrder(_ id: NodeID) {
        let low = min(probeCursor, probeOrder.count)
        let position = low + random.below(probeOrder.count - low + 1)
        probeOrder.insert(id, at: position)
    }

    mutating func sendIndirectProbes(_ current: inout Probe, now: Instant) {
        current.indirectSent = true
        let helpers = randomActiveMembers(count: settings.indirectChecks, excluding: [current.target])
        current.expectedNacks = helpers.count
        for helper in helpers {
            metrics.indirectProbes += 1
            send(.pingReq(PingRequest(sequence: current.sequence, target: current.target,
                                      targetAddress: current.targetAddress, source: myself.id)),
                 to: helper.address)
        }
        if settings.streamFallbackPing {
            outbox.append(.streamPing(Ping(sequence: current.sequence, target: current.target, source: myself.id),
                                      to: current.targetAddress))
        }
    }

    /// No ack by the end of the period: suspect the target, and weigh what the failure says about us.
    mutating func probeFailed(_ failed: Probe, now: Instant) {
        metrics.failedProbes += 1
        // Lifeguard: a failed probe raises our score, and so does every helper that did not even nack:
        // if helpers cannot answer us, the problem may be ours.
        adjustHealth(by: 1 + max(0, failed.expectedNacks - failed.nacks))
        // A probe outlives a refutation when our local health stretches it: the target answered the
        // world with a newer incarnation meanwhile, and this failure (a partition that has since healed,
        // say) is no evidence against that life.
        guard let entry = table[failed.target], entry.member.state.isActive,
              entry.member.incarnation == failed.targetIncarnation else { return }
        metrics.suspicionsRaised += 1
        applySuspect(id: failed.target, incarnation: entry.member.incarnation, suspecter: myself.id, now: now)
    }

    mutating func handleAck(_ ack: Ack, now: Instant) {
        if let current = probe, current.sequence == ack.sequence, current.target == ack.source {
            adjustHealth(by: -1)
            // Its answer to one probe answers every probe of it still open (an out-of-band one whose
            // datagrams were lost would otherwise make it suspect moments after it answered).
            probeAnswered(by: ack.source)
            return
        }
        if let relay = relays[ack.sequence], relay.target == ack.source {
            relays[ack.sequence] = nil
            send(.ack(Ack(sequence: relay.originalSequence, source: relay.target)), to: relay.requester)
            return
        }
        if let suspectProbe = suspectProbes[ack.sequence], suspectProbe.target == ack.source {
            // It answered us; it will refute by itself (our ping told it of the suspicion).
            probeAnswered(by: ack.source)
            return
        }
        metrics.unexpectedAcks += 1
    }

    /// A member we are probing sent us an application message from its own address: as good as its
    /// ack, for the round-robin probe and for an out-of-band one (a request to it timed out). The
    /// probe's datagrams may all have been lost while the member answered a request; without this it
    /// would be suspected although it had just spoken. (In encrypted mode the envelope rejects a
    /// replayed message, so only the member itself can do this.)
    mutating func probeAnswered(by id: NodeID) {
        if probe?.target == id { probe = nil }
        for (sequence, suspectProbe) in suspectProbes where suspectProbe.target == id { suspectProbes[sequence] = nil }
    }

    /// Ping-req: ping the target for the requester; answer with the ack, or a nack if none comes in time.
    mutating func serveIndirectProbe(_ request: PingRequest, from requester: Address, now: Instant) {
        guard !relays.keys.contains(where: { relays[$0]?.originalSequence == request.sequence
            && relays[$0]?.requester == requester }) else { return }
        let sequence = takeSequence()
        let wait = settings.probeTimeout.scaled(by: settings.nackTimeoutFraction)
        relays[sequence] = Relay(originalSequence: request.sequence, requester: requester,
                                 target: request.target, deadline: now + wait)
        send(.ping(Ping(sequence: sequence, target: request.target, source: myself.id)),
             to: request.targetAddress, about: request.target)
    }

    mutating func expireRelays(now: Instant) {
        guard !relays.isEmpty else { return }
        // Sorted: dictionary order varies between runs, and one seed must replay a run exactly.
        for (sequence, relay) in relays.sorted(by: { $0.key < $1.key }) where now >= relay.deadline {
            relays[sequence] = nil
            metrics.nacksSent += 1
            send(.nack(Nack(sequence: relay.originalSequence, source: myself.id)), to: relay.requester)
        }
    }

    /// Lifeguard: probe a member we just heard is suspect. Our own failed probe is an independent
    /// confirmation; an answer costs one ping and carries the suspicion to the member (buddy system).
    mutating func probeSuspect(_ member: Member, now: Instant) {
        guard settings.probeOnSuspicion else { return }
        startOutOfBandProbe(member, indirect: false, now: now)
    }

    /// A direct ping outside the probe schedule, optionally with indirect probes at once. No ack
    /// within the probe timeout makes us suspect the member (or confirm an existing suspicion).
    mutating func startOutOfBandProbe(_ member: Member, indirect: Bool, overStream: Bool = false, now: Instant) {
        guard !isLeaving, !suspectProbes.values.contains(where: { $0.target == member.id }) else { return }
        let sequence = takeSequence()
        suspectProbes[sequence] = SuspectProbe(target: member.id, incarnation: member.incarnation,
                                               deadline: now + settings.probeTimeout * (localHealth + 1))
        metrics.probes += 1
        send(.ping(Ping(sequence: sequence, target: member.id, source: myself.id)), to: member.address, about: member.id)
        // As the round-robin probe does once its direct ping went unanswered: over a stream, a lost
        // datagram is retransmitted, so a live member answers even where there are no helpers.
        if overStream {
            outbox.append(.streamPing(Ping(sequence: sequence, target: member.id, source: myself.id), to: member.address))
        }
        guard indirect else { return }
        for helper in randomActiveMembers(count: settings.indirectChecks, excluding: [member.id]) {
            metrics.indirectProbes += 1
            send(.pingReq(PingRequest(sequence: sequence, target: member.id, targetAddress: member.address,
                                      source: myself.id)), to: helper.address)
        }
    }

    mutating func expireSuspectProbes(now: Instant) {
        guard !suspectProbes.isEmpty else { return }
        for (sequence, suspectProbe) in suspectProbes.sorted(by: { $0.key < $1.key }) where now >= suspectProbe.deadline {
            suspectProbes[sequence] = nil
            guard let entry = table[suspectProbe.target], entry.member.state.isActive,
                  entry.member.incarnation == suspectProbe.incarnation else { continue }
            if entry.member.state == .alive { metrics.suspicionsRaised += 1 }
            applySuspect(id: suspectProbe.target, incarnation: suspectProbe.incarnation, suspecter: myself.id, now: now)
        }
    }

    mutating func expireSuspicions(now: Instant) {
        guard !suspicions.isEmpty else { return }
        for (id, suspicion) in suspicions.sorted(by: { $0.key < $1.key }) where now >= suspicion.deadline(localHealth: localHealth) {
            suspicions[id] = nil
            guard let entry = table[id], entry.member.state == .suspect,
                  entry.member.incarnation == suspicion.incarnation else { continue }
            metrics.deathsDeclared += 1
            applyDead(id: id, incarnation: suspicion.incarnation, declarer: myself.id, now: now)
        }
    }

    mutating func adjustHealth(by delta: Int) {
        localHealth = min(max(0, localHealth + delta), settings.maxLocalHealthMultiplier - 1)
    }

    mutating func forgetExpiredTombstones(now: Instant) {
        guard !tombstones.isEmpty else { return }
        for id in tombstones.sorted() {
            guard let entry = table[id] else { tombstones.remove(id); continue }
            if entry.member.state.isActive { tombstones.remove(id); continue }
            if now - entry.stateChangedAt >= settings.tombstoneRetention {
                table[id] = nil
                tombstones.remove(id)
                broadcasts.remove(.member(id))
                emit(.forgotten(id), now: now)
            }
        }
    }
}
