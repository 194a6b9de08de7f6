import SWIM

/// Who is authority, and how a candidate becomes one.
extension LicensingNode {
    /// Is this node itself a possible authority?
    var selfEligible: Bool {
        guard let terms, licenseValid else { return false }
        return terms.serverRank(of: mac) != nil
    }

    /// Alive members (and this node) that hold a valid copy of our license and are among its servers,
    /// lowest ID first.
    func eligibleServers() -> [NodeID] {
        guard let terms, mismatch.isEmpty else { return [] }
        var list: [NodeID] = selfEligible ? [id] : []
        for (node, view) in members where view.state == .alive {
            guard let advert = view.advert, advert.licenseValid, advert.licenseID == terms.id,
                  terms.serverRank(of: advert.mac) != nil else { continue }
            list.append(node)
        }
        return list.sorted()
    }

    /// Promises needed to start an epoch. Under `majority`: more than half of the license's servers,
    /// alive or not, so two epochs can never both be established on two sides of a partition. Under
    /// `available`: every eligible server this node can see.
    var quorum: Int {
        guard let terms else { return 1 }
        switch policy {
        case .majority: return terms.majority
        case .available: return max(1, eligibleServers().count)
        }
    }

    /// The highest epoch this node has heard of in any form.
    var highestEpochSeen: Epoch {
        var highest = max(epoch, promised)
        if case .candidate(let candidacy) = role { highest = max(highest, candidacy.epoch, candidacy.rejectedBy) }
        return highest
    }

    /// Re-derives this node's role from the current view: become a candidate when we are the lowest
    /// eligible server and not yet authority; give up candidacy when someone lower is alive.
    mutating func reconsider(now: Instant) {
        detectMismatch(now: now)
        let expected = expectedAuthority
        switch role {
        case .follower:
            if expected == id, isSynced { propose(now: now, after: highestEpochSeen) }
        case .candidate:
            if expected != id { role = .follower }
        case .authority(let term):
            if !selfEligible || !mismatch.isEmpty {
                stepDown(from: term.epoch, newer: term.epoch, now: now)
            }
            // A lower server that comes back takes over through its own proposal, which brings it the
            // ledger; until then we keep serving.
        }
        if expected == nil, !noAuthorityReported, terms != nil {
            noAuthorityReported = true
            emit(.noAuthority(reason: mismatch.isEmpty
                ? "no alive license server holds a valid copy of license \(terms?.id ?? "")"
                : "license servers hold different licenses"), now: now)
        } else if expected != nil {
            noAuthorityReported = false
        }
    }

    /// Equal potential: every alive license server must hold the same license.
    mutating func detectMismatch(now: Instant) {
        guard let terms else { mismatch = []; return }
        var servers: [ServerLicense] = []
        if terms.serverRank(of: mac) != nil {
            servers.append(ServerLicense(node: id, mac: mac, licenseID: terms.id))
        }
        for (node, view) in members where view.state == .alive {
            guard let advert = view.advert, terms.serverRank(of: advert.mac) != nil else { continue }
            servers.append(ServerLicense(node: node, mac: advert.mac, licenseID: advert.licenseID))
        }
        // One judge of "equal potential" for the protocol and the vendor tools alike.
        let differs = LicenseConsistency.mismatch(reports: servers.map { (node: $0.node, licenseID: $0.licenseID) }) != nil
        let found = differs ? servers.sorted { $0.node < $1.node } : []
        if found != mismatch {
            mismatch = found
            if !found.isEmpty { emit(.licenseMismatch(found), now: now) }
        }
    }

    mutating func propose(now: Instant, after seen: Epoch) {
        guard let terms, let rank = terms.serverRank(of: mac) else { return }
        let proposed = seen.next(serverRank: rank)
        var candidacy = Candidacy(epoch: proposed, needed: quorum, deadline: now + settings.proposalTimeout)
        // We promise ourselves, with our own ledger.
        promised = proposed
        promisedTo = id
        candidacy.promises[id] = PromiseParts(total: 1, parts: [0: Array(ledger.grants.values)])
        role = .candidate(candidacy)
        for node in eligibleServers() where node != id {
            send(.propose(proposed), to: node)
        }
        completeCandidacyIfReady(now: now)
    }

    mutating func handlePropose(_ proposed: Epoch, from candidate: NodeID, now: Instant) {
        if proposed > promised {
            promised = proposed
            promisedTo = candidate
            switch role {
            case .authority(let term): stepDown(from: term.epoch, newer: proposed, now: now)
            case .candidate: role = .follower
            case .follower: break
            }
            sendPromise(proposed, to: candidate)
        } else if proposed == promised, promisedTo == candidate {
            sendPromise(proposed, to: candidate)   // our promise was lost; say it again
        } else {
            send(.reject(proposed, promised: promised), to: candidate)
        }
    }

    mutating func sendPromise(_ promisedEpoch: Epoch, to candidate: NodeID) {
        let grants = Array(ledger.grants.values).sorted { $0.node < $1.node }
        let size = LicensingCodec.grantsPerPart
        let total = max(1, (grants.count + size - 1) / size)
        for part in 0..<total {
            let slice = Array(grants[min(grants.count, part * size)..<min(grants.count, (part + 1) * size)])
            send(.promise(promisedEpoch, part: part, of: total, grants: slice), to: candidate)
        }
    }

    mutating func handlePromise(_ promisedEpoch: Epoch, part: Int, of total: Int, grants: [Grant], from server: NodeID, now: Instant) {
        guard case .candidate(var candidacy) = role, candidacy.epoch == promisedEpoch else { return }
        var parts = candidacy.promises[server] ?? PromiseParts(total: total)
        guard parts.total == total else { return }
        parts.parts[part] = grants
        candidacy.promises[server] = parts
        role = .candidate(candidacy)
        completeCandidacyIfReady(now: now)
    }

    mutating func handleReject(_ rejected: Epoch, promised higher: Epoch, now: Instant) {
        guard case .candidate(var candidacy) = role, candidacy.epoch == rejected else { return }
        candidacy.rejectedBy = max(candidacy.rejectedBy, higher)
        role = .candidate(candidacy)
        // Retry above the higher epoch when the candidacy times out (if we are still the one).
    }

    mutating func completeCandidacyIfReady(now: Instant) {
        guard case .candidate(let candidacy) = role else { return }
        let complete = candidacy.promises.values.filter(\.complete)
        guard complete.count >= candidacy.needed else { return }
        // Merge the servers' ledgers: every grant completed in an older epoch is held by a majority,
        // and every majority shares a server with ours, so none is missed.
        for parts in complete {
            for grants in parts.parts.values { for grant in grants { ledger.merge(grant) } }
        }
        var term = Term(epoch: candidacy.epoch)
        epoch = candidacy.epoch
        authority = id
        role = .authority(term)
        outbox.append(.publish(LedgerPayloads.payload(epoch: epoch, authority: id), urgent: true))
        emit(.authorityChanged(epoch: epoch, authority: id), now: now)
        if let own = ledger.grants[id], own.cores > 0, ownGrant == nil || ownGrant!.stamp < own.stamp {
            ownGrant = own
        }
        revokeExcess(in: &term, now: now)
        role = .authority(term)
        releaseDepartedHolders(now: now)
        // A request of our own that was waiting for an authority can now be served locally.
        if let pending = request, pending.target == nil || pending.target == id { resendRequest(now: now) }
    }

    /// A higher epoch exists: learn it, and stop acting as authority of an older one.
    mutating func learnEpoch(_ newEpoch: Epoch, authority newAuthority: NodeID, now: Instant) {
        guard newEpoch > epoch else { return }
        let previousAuthority = authority
        epoch = newEpoch
        authority = newAuthority
        if newEpoch > promised { promised = newEpoch; promisedTo = newAuthority }
        switch role {
        case .authority(let term) where term.epoch < newEpoch: stepDown(from: term.epoch, newer: newEpoch, now: now)
        case .candidate(let candidacy) where candidacy.epoch <= newEpoch: role = .follower
        default: break
        }
        emit(.authorityChanged(epoch: newEpoch, authority: newAuthority), now: now)
        // Tell the new authority what we hold, so it can rebuild grants its predecessor had not replicated.
        if newAuthority != id, let own = ownGrant, own.cores > 0, previousAuthority != newAuthority, request == nil {
            startRequest(.acquire(cores: own.cores, held: own), now: now)
        }
        // A request waiting on the old authority goes to the new one at once.
        if let pending = request, pending.target != newAuthority {
            request?.tried = []
            resendRequest(now: now)
        }
    }

    mutating func stepDown(from oldEpoch: Epoch, newer: Epoch, now: Instant) {
        guard case .authority(var term) = role else { return }
        role = .follower
        emit(.steppedDown(epoch: oldEpoch, newer: newer), now: now)
        // Changes still waiting for their quorum will never get it in this epoch.
        for change in term.pending.values.sorted(by: { $0.grant.stamp < $1.grant.stamp }) {
            if let requester = change.requester {
                answer(requester, change.requestID, .notAuthority(authority: nil), in: &term, now: now)
            }
        }
    }
}
