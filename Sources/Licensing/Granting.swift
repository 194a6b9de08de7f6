import SWIM

/// The authority's side: grants, releases, replication to a quorum, and returning cores of departed nodes.
extension LicensingNode {
    mutating func handleAcquire(from node: NodeID, requestID: UInt64, cores: Int, mac nodeMAC: UInt64, held: Grant?, now: Instant) {
        guard case .authority(var term) = role, let terms else {
            send(.reply(requestID: requestID, outcome: .notAuthority(authority: authorityHint)), to: node)
            // A request that reached us instead of the authority means the authority may be gone:
            // the request path is a failure detector. Have it probed now.
            if let current = authority, current != id, expectedAuthority == id || authority == nil {
                outbox.append(.probe(current))
            }
            return
        }
        defer { role = .authority(term) }
        if let last = term.answered[node], last.requestID == requestID {
            send(.reply(requestID: requestID, outcome: last.outcome), to: node)
            return
        }
        guard terms.hosts.contains(nodeMAC) else {
            refuse(node, requestID, .macNotListed(mac: nodeMAC), in: &term, now: now)
            return
        }
        guard cores > 0 else {
            refuse(node, requestID, .invalidRequest("a request must ask for at least one core"), in: &term, now: now)
            return
        }
        if let stamp = term.pending.first(where: { $0.value.grant.node == node })?.key {
            // A change for this node is still waiting for its quorum: answer this request when it completes.
            term.pending[stamp]?.requester = node
            term.pending[stamp]?.requestID = requestID
            term.pending[stamp]?.requesterTold = false
            term.pending[stamp]?.deadline = now + settings.proposalTimeout
            return
        }
        let inUseByOthers = ledger.total { $0 != node }
        if let held, held.node == node {
            // A reclaim after a takeover: confirm what the ledger already knows, or rebuild it.
            if let known = ledger.grants[node], known.stamp >= held.stamp {
                answer(node, requestID, known.cores > 0 ? .granted(known) : .released(known), in: &term, now: now)
                return
            }
            guard inUseByOthers + held.cores <= terms.maxCores else {
                refuse(node, requestID, exhausted(requested: held.cores, inUse: inUseByOthers), in: &term, now: now)
                return
            }
            commit(held, requester: node, requestID: requestID, in: &term, now: now)
            return
        }
        if let current = ledger.grants[node], current.cores == cores {
            answer(node, requestID, .granted(current), in: &term, now: now)   // already holds exactly this
            return
        }
        guard inUseByOthers + cores <= terms.maxCores else {
            refuse(node, requestID, exhausted(requested: cores, inUse: inUseByOthers), in: &term, now: now)
            return
        }
        term.sequence += 1
        commit(Grant(node: node, cores: cores, stamp: Stamp(epoch: term.epoch, sequence: term.sequence)),
               requester: node, requestID: requestID, in: &term, now: now)
    }

    mutating func handleRelease(from node: NodeID, requestID: UInt64, now: Instant) {
        guard case .authority(var term) = role else {
            send(.reply(requestID: requestID, outcome: .notAuthority(authority: authorityHint)), to: node)
            return
        }
        defer { role = .authority(term) }
        if let last = term.answered[node], last.requestID == requestID {
            send(.reply(requestID: requestID, outcome: last.outcome), to: node)
            return
        }
        term.sequence += 1
        commit(Grant(node: node, cores: 0, stamp: Stamp(epoch: term.epoch, sequence: term.sequence)),
               requester: node, requestID: requestID, in: &term, now: now)
    }

    func exhausted(requested: Int, inUse: Int) -> Refusal {
        .cpuLimitExhausted(limit: terms?.maxCores ?? 0, inUse: inUse, requested: requested, holders: ledger.holders)
    }

    /// Records a change, and answers it once enough servers hold it: at once under `available`, after
    /// a majority of the license's servers acknowledged it under `majority`.
    mutating func commit(_ grant: Grant, requester: NodeID?, requestID: UInt64, in term: inout Term, now: Instant) {
        ledger.merge(grant)
        if grant.node == id { ownLedgerEntryChanged(grant, now: now) }
        var change = PendingChange(grant: grant, requester: requester, requestID: requestID, acks: [id],
                                   deadline: now + settings.proposalTimeout,
                                   nextRetransmit: now + settings.proposalTimeout.scaled(by: 0.5))
        if policy == .majority, quorum > 1 {
            for server in eligibleServers() where server != id {
                send(.replicate(term.epoch, grant), to: server)
            }
            term.pending[grant.stamp] = change
            return
        }
        change.acks = [id]
        finish(change, in: &term, now: now)
    }

    mutating func handleReplicate(_ replicatedEpoch: Epoch, _ grant: Grant, from sender: NodeID, now: Instant) {
        guard replicatedEpoch >= promised else {
            send(.reject(replicatedEpoch, promised: promised), to: sender)
            return
        }
        promised = replicatedEpoch
        promisedTo = sender
        if replicatedEpoch > epoch { learnEpoch(replicatedEpoch, authority: sender, now: now) }
        if ledger.merge(grant), grant.node == id { ownLedgerEntryChanged(grant, now: now) }
        send(.replicated(replicatedEpoch, grant.stamp), to: sender)
    }

    mutating func handleReplicated(_ ackedEpoch: Epoch, _ stamp: Stamp, from server: NodeID, now: Instant) {
        guard case .authority(var term) = role, term.epoch == ackedEpoch, var change = term.pending[stamp] else { return }
        change.acks.insert(server)
        if change.acks.count >= quorum {
            term.pending[stamp] = nil
            finish(change, in: &term, now: now)
        } else {
            term.pending[stamp] = change
        }
        role = .authority(term)
    }

    /// The change is safe: publish it to every replica and answer the requester.
    mutating func finish(_ change: PendingChange, in term: inout Term, now: Instant) {
        outbox.append(.publish(LedgerPayloads.payload(for: change.grant), urgent: true))
        let outcome: LicensingMessage.Outcome = change.grant.cores > 0 ? .granted(change.grant) : .released(change.grant)
        emit(change.grant.cores > 0 ? .granted(change.grant) : .released(change.grant), now: now)
        if let requester = change.requester { answer(requester, change.requestID, outcome, in: &term, now: now) }
    }

    mutating func refuse(_ node: NodeID, _ requestID: UInt64, _ refusal: Refusal, in term: inout Term, now: Instant) {
        answer(node, requestID, .refused(refusal), in: &term, now: now)
        emit(.refused(node: node, refusal), now: now)
    }

    mutating func answer(_ node: NodeID, _ requestID: UInt64, _ outcome: LicensingMessage.Outcome, in term: inout Term, now: Instant) {
        term.answered[node] = (requestID, outcome)
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

    /// When the next departed holder's cores come back.
    var nextReleaseDue: Instant? {
        var due: Instant?
        for grant in ledger.holders where grant.node != id {
            guard let view = members[grant.node], !view.state.isActive, let since = view.inactiveSince else { continue }
            let at = view.state == .left ? since : since + settings.deadGracePeriod
            if due == nil || at < due! { due = at }
        }
        return due
    }

    /// Cores of a node that left come back at once; of a dead one, after the grace period.
    mutating func releaseDepartedHolders(now: Instant) {
        guard case .authority(var term) = role else { return }
        for grant in ledger.holders where grant.node != id {
            guard let view = members[grant.node], !view.state.isActive, let since = view.inactiveSince else { continue }
            let due = view.state == .left ? since : since + settings.deadGracePeriod
            guard now >= due, !term.pending.values.contains(where: { $0.grant.node == grant.node }) else { continue }
            term.sequence += 1
            commit(Grant(node: grant.node, cores: 0, stamp: Stamp(epoch: term.epoch, sequence: term.sequence)),
                   requester: nil, requestID: 0, in: &term, now: now)
        }
        role = .authority(term)
    }

    /// After a partition healed under `available`, both sides' grants are in the ledger and may exceed
    /// the limit. The newest grants (highest stamps: granted last, during the partition) are revoked
    /// until the total fits; their holders see the revocation and must acquire again. Deterministic:
    /// every authority would revoke the same grants from the same ledger.
    mutating func revokeExcess(in term: inout Term, now: Instant) {
        guard let terms else { return }
        var total = ledger.total()
        guard total > terms.maxCores else { return }
        for grant in ledger.holders.sorted(by: { $0.stamp > $1.stamp }) where total > terms.maxCores {
            total -= grant.cores
            term.sequence += 1
            let revoked = Grant(node: grant.node, cores: 0, stamp: Stamp(epoch: term.epoch, sequence: term.sequence))
            emit(.excessRevoked(grant), now: now)
            commit(revoked, requester: nil, requestID: 0, in: &term, now: now)
        }
    }
}
