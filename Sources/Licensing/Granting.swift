import SWIM

/// The authority's side: grants, releases, replication to a quorum, and returning cores of departed nodes.
/// Every change of the term is made in place (`term?...`): the authority answers its own requests
/// re-entrantly, and a copied-out term written back afterwards would undo what that answer did.
extension LicensingNode {
    mutating func handleAcquire(from node: NodeID, requestID: UInt64, life: UInt64, basis: Stamp, cores: Int, mac nodeMAC: UInt64,
                                held: Grant?, now: Instant) {
        guard let term, let terms else {
            deliverAnswer(to: node, requestID, .notAuthority(authority: authorityHint), now: now)
            // A request that reached us instead of the authority means the authority may be gone:
            // the request path is a failure detector. Have it probed now.
            if let current = authority, current != id, expectedAuthority == id || authority == nil {
                outbox.append(.probe(current))
            }
            return
        }
        if let last = term.answered[node], last.requestID == requestID {
            deliverAnswer(to: node, requestID, last.outcome, now: now)
            return
        }
        guard node == id || isLicensedMember(node) else {
            // A node ID that is not a live member with a valid license (never heard of, dead, or
            // unlicensed): granting it would strand cores no member holds.
            rejections.notAMember += 1
            refuse(node, requestID, .notAMember, now: now)
            return
        }
        if let stamp = term.pending.first(where: { $0.value.grant.node == node })?.key {
            // A change for this node is still waiting for its quorum: answer this request when it completes.
            self.term?.pending[stamp]?.requester = node
            self.term?.pending[stamp]?.requestID = requestID
            self.term?.pending[stamp]?.requesterTold = false
            self.term?.pending[stamp]?.deadline = now + settings.proposalTimeout
            return
        }
        guard isCurrent(node, life: life, basis: basis, requestID: requestID, now: now) else { return }
        // The MAC the member advertises, not the one the request claims.
        let requesterMAC = node == id ? mac : (members[node]?.advert?.mac ?? nodeMAC)
        guard terms.hosts.contains(requesterMAC) else {
            refuse(node, requestID, .macNotListed(mac: requesterMAC), now: now)
            return
        }
        guard cores > 0 else {
            refuse(node, requestID, .invalidRequest("a request must ask for at least one core"), now: now)
            return
        }
        let inUseByOthers = ledger.total { $0 != node }
        let known = ledger.grants[node]
        if let held, held.node == node, held.cores > 0, known.map({ $0.stamp < held.stamp }) ?? true {
            // A reclaim after a takeover: the previous authority granted this and we never heard of it.
            // Rebuild it if it fits; else the node's request for `cores` goes on below.
            if inUseByOthers + held.cores <= terms.maxCores, held.cores == cores {
                commit(held, requester: node, requestID: requestID, now: now)
                return
            }
        }
        if let known, known.cores == cores {
            // Already holds exactly this. Confirming it renews the holder's lease, which only a backed
            // authority may do; an unbacked one has no quorum to give.
            if isBacked(now: now) {
                answer(node, requestID, .granted(known), now: now)
            } else {
                refuse(node, requestID, .noQuorum(reached: term.beatConfirmations.count, needed: quorum), now: now)
            }
            return
        }
        // A fresh request, or a reclaim of cores the ledger holds as released (the node was held dead
        // and its cores came back): grant them anew if they fit.
        guard inUseByOthers + cores <= terms.maxCores else {
            refuse(node, requestID, exhausted(requested: cores, inUse: inUseByOthers), now: now)
            return
        }
        guard let stamp = nextStamp(now: now) else {
            deliverAnswer(to: node, requestID, .notAuthority(authority: nil), now: now)
            return
        }
        commit(Grant(node: node, cores: cores, stamp: stamp), requester: node, requestID: requestID, now: now)
    }

    /// Whether a request refers to the current state: the sender's current life (as its advert
    /// announces it) and its ledger entry as it is now. Else it is a replay, or the sender's replica is
    /// behind: nothing changes, it is counted, and the sender is told the current entry (a replay's
    /// answer goes to the real node, which ignores an answer to no request of its own).
    mutating func isCurrent(_ node: NodeID, life: UInt64, basis: Stamp, requestID: UInt64, now: Instant) -> Bool {
        let currentLife = node == id ? self.life : members[node]?.advert?.life
        let current = ledger.grants[node]
        guard life != currentLife || basis != (current?.stamp ?? .zero) else {
            noteHeard(from: node, now: now)
            return true
        }
        rejections.stale += 1
        if life == currentLife { deliverAnswer(to: node, requestID, .stale(current: current), now: now) }
        return false
    }

    /// A live member advertising a valid copy of our license (or of another version of it). A suspect
    /// counts: it is asking (from its own address, in its current life), and the suspicion may be a
    /// lost probe or a replayed rumour; refusing it would take cores from a node that is up.
    func isLicensedMember(_ node: NodeID) -> Bool {
        guard let view = members[node], view.state.isActive, let advert = view.advert else { return false }
        return advert.licenseValid && advert.holdsVersionOfSameLicense(as: self.advert)
    }

    mutating func handleRelease(from node: NodeID, requestID: UInt64, life: UInt64, basis: Stamp, now: Instant) {
        guard let term else {
            deliverAnswer(to: node, requestID, .notAuthority(authority: authorityHint), now: now)
            return
        }
        if let last = term.answered[node], last.requestID == requestID {
            deliverAnswer(to: node, requestID, last.outcome, now: now)
            return
        }
        // A change for this node waiting for its quorum: the requester asks again after it.
        guard !term.pending.values.contains(where: { $0.grant.node == node }) else { return }
        guard isCurrent(node, life: life, basis: basis, requestID: requestID, now: now) else { return }
        if let current = ledger.grants[node], current.cores == 0 {
            answer(node, requestID, .released(current), now: now)   // holds nothing: nothing to record
            return
        }
        guard let stamp = nextStamp(now: now) else {
            deliverAnswer(to: node, requestID, .notAuthority(authority: nil), now: now)
            return
        }
        commit(Grant(node: node, cores: 0, stamp: stamp), requester: node, requestID: requestID, now: now)
    }

    /// The next stamp of the current term; nil (and a new epoch on its way) when the term has used up
    /// its 2^32 sequence numbers: a flood of requests must not overflow it.
    mutating func nextStamp(now: Instant) -> Stamp? {
        guard let term else { return nil }
        guard term.sequence < UInt32.max else {
            stepDown(from: term.epoch, newer: term.epoch, now: now)
            heardEpoch = max(heardEpoch, term.epoch)   // so that the next proposal goes above it
            reconsider(now: now)
            return nil
        }
        self.term?.sequence += 1
        return Stamp(epoch: term.epoch, sequence: term.sequence + 1)
    }

    func exhausted(requested: Int, inUse: Int) -> Refusal {
        .cpuLimitExhausted(limit: terms?.maxCores ?? 0, inUse: inUse, requested: requested, holders: ledger.holders)
    }

    /// Records a change, and answers it once enough servers hold it: at once under `available`, after
    /// a majority of the license's servers acknowledged it under `majority`.
    mutating func commit(_ grant: Grant, requester: NodeID?, requestID: UInt64, now: Instant) {
        guard let epoch = term?.epoch else { return }
        let replaced = ledger.grants[grant.node]
        ledger.merge(grant)
        if grant.node == id { ownLedgerEntryChanged(grant, now: now) }
        let change = PendingChange(grant: grant, replaced: replaced, requester: requester, requestID: requestID, acks: [id],
                                   deadline: now + settings.proposalTimeout,
                                   nextRetransmit: now + settings.proposalTimeout.scaled(by: 0.5))
        if policy == .majority, quorum > 1 {
            for server in eligibleServers() where server != id {
                send(.replicate(epoch, grant), to: server)
            }
            term?.pending[grant.stamp] = change
            return
        }
        finish(change, now: now)
    }

    mutating func handleReplicate(_ replicatedEpoch: Epoch, _ grant: Grant, from sender: NodeID, now: Instant) {
        guard followAuthority(replicatedEpoch, from: sender, now: now) else { return }
        if ledger.merge(grant), grant.node == id { ownLedgerEntryChanged(grant, now: now) }
        send(.replicated(replicatedEpoch, grant.stamp), to: sender)
    }

    mutating func handleReplicated(_ ackedEpoch: Epoch, _ stamp: Stamp, from server: NodeID, now: Instant) {
        guard term?.epoch == ackedEpoch, var change = term?.pending[stamp] else { return }
        noteHeard(from: server, now: now)
        change.acks.insert(server)
        if change.acks.count >= quorum {
            term?.pending[stamp] = nil
            finish(change, now: now)
        } else {
            term?.pending[stamp] = change
        }
    }

    /// A server hears from the authority of `claimed` (a replication, a heartbeat): it follows it, and
    /// promises never to accept an older epoch again, unless it already promised a newer one, which
    /// it tells the sender (who then steps down). Returns whether it follows.
    mutating func followAuthority(_ claimed: Epoch, from sender: NodeID, now: Instant) -> Bool {
        guard claimed >= promised else {
            send(.reject(claimed, promised: promised), to: sender)
            return false
        }
        promised = claimed
        promisedTo = sender
        if claimed > epoch { learnEpoch(claimed, authority: sender, now: now) }
        return true
    }

    /// Datagrams get lost: ask the servers that have not acknowledged a pending change again, and tell
    /// its requester when it has waited too long (it stays pending, and completes when it can).
    mutating func retransmitPendingChanges(now: Instant) {
        guard let term else { return }
        for stamp in term.pending.keys.sorted() {
            guard let change = self.term?.pending[stamp] else { continue }
            if now >= change.nextRetransmit {
                self.term?.pending[stamp]?.nextRetransmit = now + settings.proposalTimeout.scaled(by: 0.5)
                for server in eligibleServers() where !change.acks.contains(server) {
                    send(.replicate(term.epoch, change.grant), to: server)
                }
            }
            if now >= change.deadline, !change.requesterTold {
                self.term?.pending[stamp]?.requesterTold = true
                if let requester = change.requester {
                    let refusal = Refusal.noQuorum(reached: change.acks.count, needed: quorum)
                    answer(requester, change.requestID, .refused(refusal), now: now)
                    emit(.refused(node: requester, refusal), now: now)
                }
            }
        }
    }

    /// The change is safe: announce it to the replicas (`announceHeadIfChanged`, once per input) and
    /// answer the requester.
    mutating func finish(_ change: PendingChange, now: Instant) {
        term?.unpushed.append(change.grant)
        let outcome: LicensingMessage.Outcome = change.grant.cores > 0 ? .granted(change.grant) : .released(change.grant)
        emit(change.grant.cores > 0 ? .granted(change.grant) : .released(change.grant), now: now)
        if let requester = change.requester { answer(requester, change.requestID, outcome, now: now) }
    }

    mutating func refuse(_ node: NodeID, _ requestID: UInt64, _ refusal: Refusal, now: Instant) {
        answer(node, requestID, .refused(refusal), now: now)
        emit(.refused(node: node, refusal), now: now)
    }

    /// Answers a request as the authority: remembered, so a retry of it gets the same answer.
    mutating func answer(_ node: NodeID, _ requestID: UInt64, _ outcome: LicensingMessage.Outcome, now: Instant) {
        term?.answered[node] = (requestID, outcome)
        deliverAnswer(to: node, requestID, outcome, now: now)
    }

    mutating func deliverAnswer(to node: NodeID, _ requestID: UInt64, _ outcome: LicensingMessage.Outcome, now: Instant) {
        if node == id {
            handleReply(requestID: requestID, outcome: outcome, from: id, now: now)
        } else {
            send(.reply(requestID: requestID, outcome: outcome), to: node)
        }
    }

    var authorityHint: NodeID? {
        if let authority, authority != id, members[authority]?.state == .alive { return authority }
        let expected = expectedAuthority
        return expected == id ? nil : expected
    }

    /// When a departed holder's cores come back: at once for a node that left; after the grace period
    /// for a dead one, and under `available` only while every license server is alive here (another
    /// side of a partition may have an authority of its own serving that node).
    func releaseDue(of node: NodeID, mayReclaimDead: Bool) -> Instant? {
        guard let view = members[node] else {
            // No member by that ID (a grant to a node ID that never joined): like a dead node's.
            return mayReclaimDead ? strangerSince[node].map { $0 + settings.deadGracePeriod } : nil
        }
        guard !view.state.isActive, let inactiveSince = view.inactiveSince else { return nil }
        // A node that left gave its cores back itself (`leaving`); if that release was lost, they come
        // back one heartbeat later: soon, but not at the very word of a departure a key holder could
        // forge (the node refutes it within a protocol period or two).
        if view.state == .left { return inactiveSince + settings.heartbeatInterval }
        // Held dead, but heard from since: the grace period counts from the last word.
        let since = max(inactiveSince, view.heardAt ?? inactiveSince)
        return mayReclaimDead ? since + settings.deadGracePeriod : nil
    }

    var mayReclaimDead: Bool { policy == .majority || everyServerAlive }

    /// When the next departed holder's cores come back.
    var nextReleaseDue: Instant? {
        let mayReclaim = mayReclaimDead
        var due: Instant?
        for node in departedHolders {
            guard let at = releaseDue(of: node, mayReclaimDead: mayReclaim) else { continue }
            if due == nil || at < due! { due = at }
        }
        return due
    }

    /// Holders that are no active member (held dead or departed, or strangers), lowest ID first: the
    /// only ones whose cores may come back. Found without a pass over the ledger, which is as large as
    /// the cluster: this is asked after every input.
    var departedHolders: [NodeID] {
        (members.inactive.union(strangerSince.keys)).filter { $0 != id && ledger.cores(of: $0) > 0 }.sorted()
    }

    /// Cores of a node that left come back at once; of a dead one, after the grace period (by then
    /// its lease has lapsed, if it is alive on the other side of a partition).
    mutating func releaseDepartedHolders(now: Instant) {
        guard term != nil else { return }
        for grant in ledger.grants.values where grant.cores > 0 && grant.node != id && members[grant.node] == nil && strangerSince[grant.node] == nil {
            strangerSince[grant.node] = now
        }
        let mayReclaim = mayReclaimDead
        for node in departedHolders {
            guard let due = releaseDue(of: node, mayReclaimDead: mayReclaim), now >= due,
                  term?.pending.values.contains(where: { $0.grant.node == node }) == false,
                  let stamp = nextStamp(now: now) else { continue }
            commit(Grant(node: node, cores: 0, stamp: stamp), requester: nil, requestID: 0, now: now)
        }
    }

    /// The ledger may hold more than the limit: after a partition healed under `available` both sides'
    /// grants are in it, and a renewed license may allow fewer cores. The newest grants (highest
    /// stamps: granted last, during the partition) are revoked until the total fits; their holders see
    /// the revocation and ask again. Deterministic: every authority would revoke the same grants from
    /// the same ledger. Only an authority whose epoch is above every stamp can do it (its revocations
    /// must win); `reconsider` makes a lower one step down and propose above them first.
    mutating func enforceLimit(now: Instant) {
        guard let terms, let term, ledger.newestStamp.epoch <= term.epoch else { return }
        var total = ledger.total()
        guard total > terms.maxCores else { return }
        emit(.ledgerOverLimit(total: total, limit: terms.maxCores), now: now)
        // Grants of nodes that are no member first (forged), then the newest.
        let order = ledger.holders.sorted { a, b in
            let strangerA = members[a.node] == nil && a.node != id, strangerB = members[b.node] == nil && b.node != id
            return strangerA != strangerB ? strangerA : a.stamp > b.stamp
        }
        for grant in order where total > terms.maxCores {
            guard self.term?.pending.values.contains(where: { $0.grant.node == grant.node }) == false,
                  let stamp = nextStamp(now: now) else { continue }
            total -= grant.cores
            emit(.excessRevoked(grant), now: now)
            commit(Grant(node: grant.node, cores: 0, stamp: stamp), requester: nil, requestID: 0, now: now)
        }
    }

    /// A grant merged into the ledger: an authority checks the limit (a healed partition's grants).
    mutating func ledgerGrew(by grant: Grant, now: Instant) {
        if term != nil, grant.cores > 0 { enforceLimit(now: now) }
    }
}
