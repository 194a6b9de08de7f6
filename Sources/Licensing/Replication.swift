import SWIM

/// How ledger replicas catch up: the authority announces its ledger's head (digest, count, and the
/// stamp it is complete up to) by gossip, and a replica whose digest differs pulls the entries it lacks
/// from a peer, a different one each time, so that no node serves everyone. The ledger is a log
/// compacted to one entry per node: "every entry stamped after S" is everything a replica complete up
/// to S lacks, whoever answers, because a change that replaced an older one carries a newer stamp.
///
/// So a change costs each replica its own bytes about once (a pull from a peer that already has it),
/// where gossiping each grant cost every node a retransmission budget per grant; an idle cluster, whose
/// digests agree, exchanges nothing but the head. A replica complete up to the head whose digest still
/// differs asks the authority for its whole ledger, with a backoff, and sends back the entries it holds
/// newer than the authority's: after a partition under `available`, the other side's authority may
/// have changed entries (returned a node's cores) that the authority of the healed cluster never heard
/// of. It merges them (older epochs only: nobody else writes its own), and every replica then pulls.
extension LicensingNode {
    /// Entries per pull answer: `maximumPullParts` datagrams, then the replica asks again.
    static let maximumPullParts = 8

    struct PullInFlight: Sendable {
        var peer: NodeID
        /// When this replica may ask again if the answer has not come (or came without more to give).
        var retryAt: Instant
        /// A pull of the authority's whole ledger: the nodes its answer named so far, and where the
        /// next part of it starts when one answer could not carry it all.
        var whole: WholeLedgerPull?
    }

    struct WholeLedgerPull: Sendable {
        var named: Set<NodeID> = []
        var resumeAfter = Stamp.zero
        /// The head the heartbeat had named when it started: once complete, this replica holds it.
        var makesUpFor: (epoch: Epoch, counter: UInt32)?
    }

    /// A heartbeat of the followed authority named its latest head.
    mutating func heardHeadCounter(_ counter: UInt32, epoch: Epoch) {
        if let heard = heardHead, (heard.epoch, heard.counter) >= (epoch, counter) { return }
        heardHead = (epoch, counter)
    }

    /// The newest head of the followed authority this replica knows it holds: announced to it, or made
    /// up for by a whole-ledger pull.
    var headHeld: (epoch: Epoch, counter: UInt32)? {
        var held: (epoch: Epoch, counter: UInt32)?
        if let head = announcedHead, head.epoch == epoch, head.authority == authority { held = (head.epoch, head.counter) }
        if let covered = coveredHead, covered.epoch == epoch, held.map({ ($0.epoch, $0.counter) < (covered.epoch, covered.counter) }) ?? true {
            held = covered
        }
        return held
    }

    /// This node follows an authority but lacks its current head: none arrived, or its heartbeat names
    /// a newer one than any that did.
    var isMissingHead: Bool {
        guard term == nil, let authority, authority != id else { return false }
        guard let held = headHeld else { return true }
        guard let heard = heardHead, heard.epoch == epoch else { return false }
        return held.counter < heard.counter
    }

    /// The authority's stamp up to which its committed ledger is complete: below its oldest change
    /// still waiting for a quorum, which replicas must not be told about yet.
    var committedThrough: Stamp {
        guard let oldestPending = term?.pending.keys.min() else { return ledger.newestStamp }
        return Stamp(rawValue: oldestPending.rawValue - 1)
    }

    /// The digest of the ledger without the changes still waiting for a quorum.
    var committedDigest: UInt64 {
        var digest = ledger.digest
        for change in term?.pending.values ?? [:].values {
            digest ^= Ledger.hash(change.grant)
            if let replaced = change.replaced { digest ^= Ledger.hash(replaced) }
        }
        return digest
    }

    /// This node's head as it answers pulls: the authority's committed one, a replica's own.
    var servedThrough: Stamp { term != nil ? committedThrough : syncedThrough }

    // MARK: - The authority announces

    /// Called at the end of every input: an authority whose committed ledger changed announces its new
    /// head (once per input, however many changes it made: a batch) and pushes the new entries to the
    /// other license servers, so that the next authority holds them even before they pull.
    mutating func announceHeadIfChanged(now: Instant) {
        guard let term else { return }
        let digest = committedDigest
        let unpushed = term.unpushed
        guard digest != term.announcedDigest || !unpushed.isEmpty else { return }
        self.term?.unpushed = []
        for server in eligibleServers() where server != id { push(unpushed, to: server) }
        guard digest != term.announcedDigest, term.headCounter < UInt32.max else { return }
        let counter = term.headCounter + 1
        self.term?.announcedDigest = digest
        self.term?.headCounter = counter
        let head = LedgerHead(epoch: term.epoch, counter: counter, authority: id, digest: digest,
                              count: ledger.grants.count - (term.pending.values.filter { $0.replaced == nil }.count),
                              through: committedThrough)
        outbox.append(.publish(LedgerPayloads.payload(head: head), urgent: true))
    }

    // MARK: - A replica catches up

    /// An authority's head arrived (gossip or push-pull). The newest is kept even before this node
    /// follows its epoch (the epoch's own payload may come second, and gossip delivers each only once);
    /// it counts once this node follows that authority.
    mutating func learnHead(_ head: LedgerHead) {
        guard head.authority != id else { return }
        if let known = announcedHead, (known.epoch, known.counter) >= (head.epoch, head.counter) { return }
        announcedHead = head
    }

    /// What this replica lacks, and where it gets it.
    enum LedgerGap {
        /// Entries changed after its head: from its peers.
        case entries(LedgerHead)
        /// It is complete up to the head and still differs, or the head never reached it: the
        /// authority's whole ledger.
        case wholeLedger(NodeID)
    }

    /// Nil when this node needs nothing: it is the authority, follows none, or holds the head's digest.
    var ledgerGap: LedgerGap? {
        guard term == nil, !isLeaving, let authority, authority != id else { return nil }
        // The authority's head never reached this node (its gossip missed it, and a head is announced
        // again only when the ledger changes): its whole ledger, after a grace period.
        if headMissingSince != nil { return .wholeLedger(authority) }
        guard let head = announcedHead, head.epoch == epoch, head.authority == authority else { return nil }
        guard ledger.digest != head.digest else { return nil }
        return syncedThrough >= head.through ? .wholeLedger(authority) : .entries(head)
    }

    /// When this replica next asks (nil: it need not).
    var nextPullAt: Instant? {
        guard let gap = ledgerGap else { return nil }
        if pull?.whole != nil { return pull?.retryAt }
        switch gap {
        case .entries:
            return pull?.retryAt ?? clock
        case .wholeLedger:
            // Two heartbeats for a head that is late rather than lost (the epoch's payload and the
            // head's travel apart).
            let graceEnd = headMissingSince.map { $0 + settings.heartbeatInterval * 2 } ?? .zero
            return max(pull?.retryAt ?? .zero, nextFullPullAt ?? .zero, graceEnd)
        }
    }

    /// Called at the end of every input: asks a peer (or the authority) for what this replica lacks,
    /// if it is time.
    mutating func pullIfDue(now: Instant) {
        if !isMissingHead { headMissingSince = nil } else if headMissingSince == nil { headMissingSince = now }
        guard let gap = ledgerGap else {
            fullPullBackoff = nil
            return
        }
        guard let due = nextPullAt, now >= due else { return }
        if let whole = pull?.whole, let authority, pull?.peer == authority {
            // The rest of the authority's whole ledger, after what its last answer carried.
            pull?.retryAt = now + settings.ledgerPullInterval
            send(.pull(since: whole.resumeAfter, held: nil), to: authority)
            return
        }
        switch gap {
        case .wholeLedger(let authority):
            let backoff = fullPullBackoff ?? settings.ledgerPullInterval.scaled(by: 2)
            fullPullBackoff = min(backoff.scaled(by: 2), .seconds(30))
            nextFullPullAt = now + backoff
            fullLedgerPulls += 1
            pull = PullInFlight(peer: authority, retryAt: now + settings.ledgerPullInterval,
                                whole: WholeLedgerPull(makesUpFor: heardHead.flatMap { $0.epoch == epoch ? $0 : nil }))
            send(.pull(since: .zero, held: nil), to: authority)
        case .entries(let head):
            guard let peer = nextPullPeer() else { return }
            pull = PullInFlight(peer: peer, retryAt: now + settings.ledgerPullInterval)
            // What this replica holds of the head's epoch beyond where it is complete: pulls from other
            // peers brought part of the news, which this one need not send again.
            let first = syncedThrough.epoch == head.epoch ? syncedThrough.sequence &+ 1 : 1
            send(.pull(since: syncedThrough, held: HeldSequences(epoch: head.epoch, first: first, of: ledger.grants.values)), to: peer)
        }
    }

    /// A different live licensed member each time (a deterministic walk, seeded by this node's ID and
    /// life, so the simulator reproduces it): the load of serving spreads over the cluster, and the
    /// authority is asked as often as any other member.
    mutating func nextPullPeer() -> NodeID? {
        let pullPeers = members.pullPeers
        guard !pullPeers.isEmpty else { return authority }
        pullCursor = pullCursor &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return pullPeers[Int((pullCursor >> 33) % UInt64(pullPeers.count))]
    }

    /// A peer asks for the entries changed after `since`. Answered from this node's replica (the
    /// authority leaves out changes still waiting for a quorum), in parts. The same pull from the same
    /// peer is answered at most once per half pull interval, so a replayed or looping pull cannot make
    /// this node flood anyone; a pull that goes on where the last answer stopped is answered at once.
    mutating func handlePull(since: Stamp, held: HeldSequences?, from peer: NodeID, now: Instant) {
        guard peer != id, members[peer]?.state == .alive else { return }
        if let last = lastServed[peer], last.since == since, now < last.at + settings.ledgerPullInterval.scaled(by: 0.5) {
            rejections.throttledPulls += 1
            return
        }
        lastServed[peer] = (since, now)
        let pending = Set(term?.pending.keys ?? [:].keys)
        let capacity = LicensingCodec.grantsPerPart * Self.maximumPullParts
        var entries = ledger.entries(after: since, limit: capacity + 1) { grant in
            !pending.contains(grant.stamp) && held?.contains(grant.stamp) != true
        }
        let hasMore = entries.count > capacity
        if hasMore { entries.removeLast() }
        let through = servedThrough
        var from = since
        var start = 0
        repeat {
            let grants = Array(entries[start..<min(start + LicensingCodec.grantsPerPart, entries.count)])
            start += grants.count
            let isLast = start >= entries.count
            // Complete up to the last entry sent; after the last part, up to this node's own head.
            let partThrough = isLast && !hasMore ? through : min(grants.last?.stamp ?? since, through)
            send(.entries(LedgerEntries(from: from, through: partThrough, isLast: isLast, hasMore: hasMore, grants: grants)), to: peer)
            from = grants.last?.stamp ?? from
        } while start < entries.count
    }

    /// Entries arrived: from the peer this replica asked, pushed by the authority it follows, or, at
    /// the authority, sent back by a replica that holds newer ones. Anything else is dropped and counted.
    mutating func handleEntries(_ part: LedgerEntries, from sender: NodeID, now: Instant) {
        let asked = pull?.peer == sender
        if let term {
            guard isLicensedMember(sender) else {
                rejections.unsolicitedEntries += 1
                return
            }
            // Only history this term missed: nobody else writes entries stamped with its own epoch.
            merge(part.grants.filter { $0.stamp.epoch < term.epoch }, now: now)
            return
        }
        guard asked || sender == authority else {
            rejections.unsolicitedEntries += 1
            return
        }
        merge(part.grants, now: now)
        guard asked else { return }
        if part.from <= syncedThrough { syncedThrough = max(syncedThrough, part.through) }
        if pull?.whole != nil { compareWithWholeLedger(part, now: now) }
        // A peer with more to give is asked again at once; otherwise not before the pull interval.
        if part.isLast, part.hasMore { pull?.retryAt = now }
    }

    mutating func merge(_ grants: [Grant], now: Instant) {
        for grant in grants where ledger.merge(grant) {
            if grant.node == id { ownLedgerEntryChanged(grant, now: now) }
            ledgerGrew(by: grant, now: now)
        }
    }

    /// A part of the authority's whole ledger arrived (already merged): note the nodes it named, and
    /// once it is complete send the authority the entries this replica holds newer than its own.
    mutating func compareWithWholeLedger(_ part: LedgerEntries, now: Instant) {
        guard var whole = pull?.whole, let authority else { return }
        var newer: [Grant] = []
        for grant in part.grants {
            whole.named.insert(grant.node)
            if let mine = ledger.grants[grant.node], mine.stamp > grant.stamp { newer.append(mine) }
        }
        whole.resumeAfter = part.grants.last?.stamp ?? whole.resumeAfter
        if part.isLast, !part.hasMore {
            newer += ledger.grants.values.filter { !whole.named.contains($0.node) }
            pull?.whole = nil
            // It holds everything the authority held, so the head it was missing too.
            if let madeUp = whole.makesUpFor { coveredHead = madeUp }
        } else {
            pull?.whole = whole
        }
        newer.sort { $0.stamp < $1.stamp }
        push(newer, to: authority)
    }

    /// Sends entries unasked, in parts of a datagram each; zero stamps: a push claims no completeness.
    mutating func push(_ grants: [Grant], to node: NodeID) {
        for start in stride(from: 0, to: grants.count, by: LicensingCodec.grantsPerPart) {
            let part = Array(grants[start..<min(start + LicensingCodec.grantsPerPart, grants.count)])
            send(.entries(LedgerEntries(from: .zero, through: .zero, isLast: true, hasMore: false, grants: part)), to: node)
        }
    }
}
