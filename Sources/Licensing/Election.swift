import SWIM

/// Who is authority, and how a candidate becomes one.
extension LicensingNode {
    /// Is this node itself a possible authority?
    var selfEligible: Bool {
        guard let terms, licenseValid, clockProblem == nil, !isLeaving, !duplicateMACs.contains(where: { $0.mac == mac }) else { return false }
        return terms.serverRank(of: mac) != nil
    }

    /// Alive members (and this node) that hold a valid copy of our license (or another version of it,
    /// during a renewal) and are among its servers, lowest ID first.
    func eligibleServers() -> [NodeID] {
        guard let terms, mismatch.isEmpty else { return [] }
        let own = advert
        var list: [NodeID] = selfEligible ? [id] : []
        for node in serverCandidates {
            guard let view = members[node], view.state == .alive || heardLately(view), let advert = view.advert, advert.licenseValid,
                  advert.clockTrusted, advert.holdsVersionOfSameLicense(as: own), terms.serverRank(of: advert.mac) != nil else { continue }
            list.append(node)
        }
        // Two nodes claiming one server's MAC: neither is trusted to be that server.
        if !duplicateMACs.isEmpty {
            let disputed = Set(duplicateMACs.flatMap(\.nodes))
            list.removeAll { disputed.contains($0) }
        }
        return list.sorted()
    }

    /// A member held suspect or dead that sent us a licensing message after we stopped holding it alive,
    /// within `heardWindow`: it is back, or was never gone (a restart, or a refutation, the membership
    /// layer has not told us of yet). What it said before does not count: a suspect authority that has
    /// gone quiet must be replaced at once.
    func heardLately(_ view: MemberView) -> Bool {
        guard view.state == .suspect || view.state == .dead, let heardAt = view.heardAt, let since = view.notAliveSince,
              heardAt > since else { return false }
        return clock < heardAt + heardWindow
    }

    /// Every license server of our license is alive here (under `available`, only then can no other
    /// authority be serving the nodes this one holds dead).
    var everyServerAlive: Bool {
        guard let terms else { return false }
        var alive: Set<UInt64> = [mac]
        for node in serverCandidates where members[node]?.state == .alive {
            if let advert = members[node]?.advert { alive.insert(advert.mac) }
        }
        return terms.servers.allSatisfy(alive.contains)
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

    /// Rounds above the highest epoch known here that a received epoch may name: elections advance the
    /// round by one, so a million is more than a cluster runs through while a node is away, and a
    /// forgery can raise it by no more (see FORMAT.md's threat model for what that leaves a key holder).
    static let maximumRoundJump: UInt32 = 1 << 20

    /// Whether an epoch heard from the network could be real: at most `maximumRoundJump` rounds above
    /// the highest known here, and below the last round (whose successor does not exist).
    func isPlausible(_ heard: Epoch) -> Bool {
        guard heard.round < Epoch.maximumRound else { return false }
        return heard.round - min(heard.round, highestEpochSeen.round) <= Self.maximumRoundJump
    }

    /// The highest epoch this node has heard of in any form.
    var highestEpochSeen: Epoch {
        var highest = max(epoch, promised, heardEpoch, ledger.newestStamp.epoch)
        if let candidacy { highest = max(highest, candidacy.epoch, candidacy.rejectedBy) }
        if let term { highest = max(highest, term.epoch) }
        return highest
    }

    /// Re-derives this node's role from the current view: become a candidate when we are the lowest
    /// eligible server and not yet authority; give up candidacy when someone lower is alive; step
    /// down when a newer epoch exists or this node may no longer serve.
    mutating func reconsider(now: Instant) {
        if judgedVersion != membershipVersion {
            judgedVersion = membershipVersion
            judgeServerLicenses(now: now)
        }
        let expected = expectedAuthority
        if let term {
            if !selfEligible || !mismatch.isEmpty {
                stepDown(from: term.epoch, newer: term.epoch, now: now)
            } else if highestEpochSeen > term.epoch {
                // Someone started a newer epoch (a healed partition, a rejection): our changes would lose
                // to its stamps. Step down; if we are still the one, we propose above it below.
                stepDown(from: term.epoch, newer: highestEpochSeen, now: now)
            }
            // A lower server that comes back takes over through its own proposal, which brings it the
            // ledger; until then we keep serving.
        }
        if candidacy != nil, expected != id { candidacy = nil }
        if term == nil, candidacy == nil, expected == id, isSynced { propose(now: now, after: highestEpochSeen) }
        noteAuthorityPresence(now: now)
        if expected == nil, !noAuthorityReported, terms != nil {
            noAuthorityReported = true
            emit(.noAuthority(reason: mismatch.isEmpty
                ? "no alive license server holds a valid copy of license \(terms?.id ?? "")"
                : "license servers hold different licenses"), now: now)
        } else if expected != nil {
            noAuthorityReported = false
        }
    }

    /// The authority this node watches: the one it would take over from, being the next eligible
    /// server after it. In a large cluster SWIM probes a given member about once per period in all,
    /// so a crashed authority went unnoticed for one to two periods (longer in the tail); probed by
    /// its successor every period, its crash is suspected within a period and a probe timeout, and the
    /// successor proposes at once. Only one node watches: the cost does not grow with the cluster.
    var watchedAuthority: NodeID? {
        guard authorityWatchInterval != nil, let authority, authority != id, term == nil, candidacy == nil,
              members[authority]?.state == .alive, selfEligible else { return nil }
        let eligible = eligibleServers()
        guard eligible.first == authority, eligible.dropFirst().first == id else { return nil }
        return authority
    }

    /// Starts or stops the watch as this node's place in line changes.
    mutating func scheduleAuthorityWatch(now: Instant) {
        guard let interval = authorityWatchInterval, watchedAuthority != nil else {
            nextWatchAt = nil
            return
        }
        if nextWatchAt == nil { nextWatchAt = now + interval }
    }

    /// The watch is due: probe the authority (over a datagram and a stream, so one lost datagram
    /// proves nothing; no answer within SWIM's probe timeout makes it suspect). The next one is
    /// scheduled as every input ends (`scheduleAuthorityWatch`), if this node still watches.
    mutating func watchAuthority() {
        nextWatchAt = nil
        if let watched = watchedAuthority { outbox.append(.watch(watched)) }
    }

    /// Whether an established authority is alive here; `authorityMissingSince` dates its absence.
    mutating func noteAuthorityPresence(now: Instant) {
        let present: Bool = if let authority { authority == id ? isAuthority : members[authority]?.state == .alive } else { false }
        if present {
            authorityMissingSince = nil
        } else if authorityMissingSince == nil {
            authorityMissingSince = now
        }
    }

    /// Equal potential: every alive license server must hold the same licensee's license. Different
    /// licensees block service (`mismatch`); different versions of one license are a renewal being
    /// rolled out and only reported (`licenseMix`).
    mutating func judgeServerLicenses(now: Instant) {
        detectDuplicateMACs(now: now)
        guard let terms else { mismatch = []; licenseMix = []; return }
        var servers: [ServerLicense] = []
        if terms.serverRank(of: mac) != nil {
            servers.append(ServerLicense(node: id, mac: mac, licenseID: terms.id, lineage: terms.lineage))
        }
        for node in serverCandidates {
            guard let view = members[node], view.state == .alive, let advert = view.advert else { continue }
            servers.append(ServerLicense(node: node, mac: advert.mac, licenseID: advert.licenseID, lineage: advert.lineage))
        }
        servers.sort { $0.node < $1.node }
        // One judge of "equal potential" for the protocol and the vendor tools alike.
        let reports = servers.map { LicenseReport(node: $0.node, licenseID: $0.licenseID, lineage: $0.lineage) }
        let foundMismatch = LicenseConsistency.mismatch(among: reports) != nil ? servers : []
        let foundMix = foundMismatch.isEmpty && LicenseConsistency.versions(among: reports) != nil ? servers : []
        if foundMismatch != mismatch {
            mismatch = foundMismatch
            if !foundMismatch.isEmpty { emit(.licenseMismatch(foundMismatch), now: now) }
        }
        if foundMix != licenseMix {
            licenseMix = foundMix
            emit(.licenseMix(foundMix), now: now)
        }
    }

    /// Identity: each MAC belongs to one host. Live members advertising the same one are reported (a
    /// copied config, or a node lying about its MAC to pass for a server), and excluded from authority.
    mutating func detectDuplicateMACs(now: Instant) {
        let found = members.sharedMACs.sorted().map { MACConflict(mac: $0, nodes: members.holders(of: $0)) }
        guard found != duplicateMACs else { return }
        duplicateMACs = found
        emit(.duplicateMACs(found), now: now)
    }

    mutating func propose(now: Instant, after seen: Epoch) {
        guard let terms, let rank = terms.serverRank(of: mac) else { return }
        let proposed = seen.next(serverRank: rank)
        var candidacy = Candidacy(epoch: proposed, needed: quorum, deadline: now + settings.proposalTimeout)
        // We promise ourselves, with our own ledger.
        promised = proposed
        promisedTo = id
        candidacy.promises[id] = PromiseParts(total: 1, parts: [0: Array(ledger.grants.values)])
        self.candidacy = candidacy
        for node in eligibleServers() where node != id {
            send(.propose(proposed), to: node)
        }
        completeCandidacyIfReady(now: now)
    }

    /// No quorum of promises in time. If a higher epoch turned up, propose above it; else ask the
    /// servers that have not promised again for the same epoch: a candidate that cannot reach a
    /// majority (a minority side) keeps trying without raising the epoch every timeout.
    mutating func candidacyTimedOut(_ timedOut: Candidacy, now: Instant) {
        let higher = max(epoch, heardEpoch, ledger.newestStamp.epoch, timedOut.rejectedBy)
        guard higher < timedOut.epoch, expectedAuthority == id, isSynced else {
            candidacy = nil
            reconsider(now: now)   // proposes again, above the higher epoch, if we are still the one
            return
        }
        candidacy?.deadline = now + settings.proposalTimeout
        let needed = quorum
        candidacy?.needed = needed
        for node in eligibleServers() where node != id && timedOut.promises[node]?.complete != true {
            send(.propose(timedOut.epoch), to: node)
        }
        completeCandidacyIfReady(now: now)
    }

    mutating func handlePropose(_ proposed: Epoch, from candidate: NodeID, now: Instant) {
        guard !isLeaving else { return }   // a departing server's promise would count towards a quorum that loses it
        if proposed > promised {
            noteHeard(from: candidate, now: now)
            promised = proposed
            promisedTo = candidate
            if let term { stepDown(from: term.epoch, newer: proposed, now: now) }
            candidacy = nil
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
        guard candidacy?.epoch == promisedEpoch else { return }
        noteHeard(from: server, now: now)
        var parts = candidacy?.promises[server] ?? PromiseParts(total: total)
        guard parts.total == total else { return }
        parts.parts[part] = grants
        candidacy?.promises[server] = parts
        completeCandidacyIfReady(now: now)
    }

    /// A server refused our epoch: it promised a higher one. A candidate retries above it when its
    /// candidacy times out; an authority steps down at once (none of its changes could complete) and
    /// proposes above it if it is still the one.
    mutating func handleReject(_ rejected: Epoch, promised higher: Epoch, now: Instant) {
        if candidacy?.epoch == rejected {
            let rejectedBy = max(candidacy?.rejectedBy ?? .none, higher)
            candidacy?.rejectedBy = rejectedBy
        } else if let term, term.epoch == rejected, higher > term.epoch {
            heardEpoch = max(heardEpoch, higher)
            reconsider(now: now)
        }
    }

    mutating func completeCandidacyIfReady(now: Instant) {
        guard let candidacy else { return }
        let complete = candidacy.promises.values.filter(\.complete)
        guard complete.count >= candidacy.needed else { return }
        // Merge the servers' ledgers: every grant completed in an older epoch is held by a majority,
        // and every majority shares a server with ours, so none is missed.
        for parts in complete {
            for grants in parts.parts.values { for grant in grants { ledger.merge(grant) } }
        }
        // Some of those grants may never have reached the replicas (their authority was deposed between
        // replicating and announcing them, or they come from a restarted server's data directory): the
        // term's first head announces this ledger, and every replica that differs pulls what it lacks.
        self.candidacy = nil
        epoch = candidacy.epoch
        authority = id
        term = Term(epoch: candidacy.epoch, nextBeatAt: now + settings.heartbeatInterval, confirmedAt: now)
        outbox.append(.publish(LedgerPayloads.payload(epoch: epoch, authority: id), urgent: true))
        emit(.authorityChanged(epoch: epoch, authority: id), now: now)
        // The promises proved a quorum backs this epoch: that renews our own lease.
        lastContact = now
        noteAuthorityPresence(now: now)
        if let own = ledger.grants[id], own.cores > 0, ownGrant == nil || ownGrant!.stamp < own.stamp {
            ownLedgerEntryChanged(own, now: now)
        }
        enforceLimit(now: now)
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
        if let term, term.epoch < newEpoch { stepDown(from: term.epoch, newer: newEpoch, now: now) }
        if let candidacy, candidacy.epoch <= newEpoch { self.candidacy = nil }
        emit(.authorityChanged(epoch: newEpoch, authority: newAuthority), now: now)
        noteAuthorityPresence(now: now)
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
        guard let ended = term else { return }
        // As a replica again, it is complete up to what it committed.
        syncedThrough = max(syncedThrough, committedThrough)
        term = nil
        emit(.steppedDown(epoch: oldEpoch, newer: newer), now: now)
        // Changes still waiting for their quorum will never get it in this epoch. Nobody acted on
        // them (a requester is answered only once its change completes), so they are taken back here;
        // left in this replica alone they would differ from every other for good. A server that
        // acknowledged one reports it in its next promise, and the next authority may adopt it.
        for change in ended.pending.values.sorted(by: { $0.grant.stamp > $1.grant.stamp }) where change.grant.node != id {
            ledger.withdraw(change.grant, restoring: change.replaced)
        }
        for change in ended.pending.values.sorted(by: { $0.grant.stamp < $1.grant.stamp }) {
            if let requester = change.requester {
                deliverAnswer(to: requester, change.requestID, .notAuthority(authority: nil), now: now)
            }
        }
    }
}
