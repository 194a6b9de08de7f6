import SWIM

/// Leases: the authority's heartbeat renews every holder's right to use its cores; a holder that has
/// not heard from a backed authority for `LicensingSettings.lease` stops using them.
///
/// Under `majority` a heartbeat renews leases only once a majority of the license's servers confirmed
/// the authority's epoch for it, so an authority cut off from the majority stops renewing within one
/// heartbeat, and every holder on its side stops using its cores within a lease: before the
/// majority's authority returns them to the pool (`deadGracePeriod` after it held them dead). A server
/// that promised a newer epoch answers the heartbeat with a rejection, and the authority steps down.
///
/// Under `available` every authority renews its own side's leases; no side reclaims the cores of a
/// node held dead while a license server is missing, since that server may be serving the node.
extension LicensingNode {
    /// Whether a heartbeat needs the servers' confirmation before it renews the leases.
    var heartbeatNeedsConfirmation: Bool { policy == .majority && quorum > 1 }

    /// The authority's periodic heartbeat.
    mutating func heartbeat(now: Instant) {
        guard let term else { return }
        let beat = term.beat &+ 1
        self.term?.beat = beat
        self.term?.beatConfirmations = [id]
        self.term?.beatRenewed = false
        self.term?.nextBeatAt = now + settings.heartbeatInterval
        // Every heartbeat goes to the other servers (their acks bring their clocks); under `majority`
        // the leases wait for a quorum of them, under `available` they are renewed at once.
        let time = wallTime(at: now) ?? 0
        for server in eligibleServers() where server != id {
            send(.heartbeat(term.epoch, beat: beat, time: time), to: server)
        }
        if !heartbeatNeedsConfirmation { renewLeases(now: now) }
    }

    /// Heartbeats per publication of the license servers' clocks.
    static let clocksEveryBeats: UInt32 = 4

    /// A quorum backs this authority: tell every holder (gossip), and renew our own lease.
    mutating func renewLeases(now: Instant) {
        guard let term, !term.beatRenewed else { return }
        self.term?.beatRenewed = true
        self.term?.confirmedAt = now
        lastContact = now
        let clocks = serverClocks(now: now)
        // The servers' clocks ride every fourth heartbeat: they drift by seconds a day, and each byte
        // of the heartbeat is passed on by every node.
        let published = term.beat % Self.clocksEveryBeats == 1 ? clocks : nil
        outbox.append(.publish(LedgerPayloads.payload(epoch: term.epoch, authority: id, beat: term.beat, headCounter: term.headCounter,
                                                      clocks: published), urgent: false))
        if let clocks { learnServerClocks(clocks, now: now) }
    }

    /// Whether a quorum confirmed this authority recently enough for it to confirm existing grants
    /// (which renews their holders' leases): within two heartbeats, so that a holder's lease never
    /// outlasts the authority's backing by more than that.
    func isBacked(now: Instant) -> Bool {
        guard heartbeatNeedsConfirmation else { return term != nil }
        guard let term else { return false }
        return now < term.confirmedAt + settings.heartbeatInterval * 2
    }

    mutating func handleHeartbeat(_ beatEpoch: Epoch, beat: UInt32, from sender: NodeID, now: Instant) {
        // Only license servers confirm heartbeats: an ordinary node handed a replayed one stays out of
        // it (its ack would count towards the quorum and its clock towards the servers' median).
        guard terms?.serverRank(of: mac) != nil else {
            rejections.notAServer += 1
            return
        }
        guard followAuthority(beatEpoch, from: sender, now: now) else { return }
        send(.heartbeatAck(beatEpoch, beat: beat, time: wallTime(at: now) ?? 0), to: sender)
    }

    mutating func handleHeartbeatAck(_ beatEpoch: Epoch, beat: UInt32, time: Int64, from server: NodeID, now: Instant) {
        guard let term, term.epoch == beatEpoch, term.beat == beat else { return }
        // A confirmation counts only from a member advertising one of the license's server MACs.
        guard serverCandidates.contains(server) else {
            rejections.notAServer += 1
            return
        }
        noteHeard(from: server, now: now)
        if time > 0 { self.term?.serverTimes[server] = (time, now) }
        self.term?.beatConfirmations.insert(server)
        if (self.term?.beatConfirmations.count ?? 0) >= quorum { renewLeases(now: now) }
    }

    /// When this holder asks the authority to confirm its grant: two and a half heartbeat intervals
    /// after the last word from a backed authority (two heartbeats missed, not one missed and the
    /// next late: gossip passes each heartbeat on only a few times, so now and then a node misses
    /// one), and then at most once per heartbeat interval. Half a lease is still left to ask in.
    var leaseRenewalDue: Instant? {
        guard ownGrant != nil, request == nil, let lastContact else { return nil }
        let due = lastContact + settings.heartbeatInterval.scaled(by: 2.5)
        return nextRenewalAt.map { max($0, due) } ?? due
    }

    /// Asks the authority to confirm the grant this node holds: an acquire of exactly that grant,
    /// which only an authority backed by a quorum answers (and its answer renews the lease). Lost
    /// heartbeats then cost a request, never the cores; a refusal (no quorum, say) leaves the lease to
    /// run its course, as it would have without asking.
    mutating func renewLeaseIfDue(now: Instant) {
        guard let due = leaseRenewalDue, now >= due, let grant = ownGrant, !isLeaving else { return }
        nextRenewalAt = now + settings.heartbeatInterval
        leaseRenewals += 1
        startRequest(.acquire(cores: grant.cores, held: grant), isRenewal: true, now: now)
    }

    /// A holder that has not heard from a backed authority for a lease stops using its cores (keeping
    /// them to reclaim when it hears again: if nobody took them meanwhile, it gets them back).
    mutating func expireLease(now: Instant) {
        guard let grant = ownGrant, let lastContact, now >= lastContact + settings.lease else { return }
        heldForReclaim = grant
        let seconds = formatDuration(settings.lease)
        dropGrant(reason: "no word from a license authority backed by a quorum of license servers for \(seconds) "
                  + "(a partition, or too few license servers up): its cores may be given to other nodes, so this node stops using them "
                  + "and asks for them again when it hears from an authority", now: now)
    }
}

