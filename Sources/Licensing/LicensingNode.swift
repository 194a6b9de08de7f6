import SWIM

/// The licensing protocol of one agent, as a pure state machine driven like `SWIMInstance`: inputs
/// (membership view, ledger payloads, messages, client calls, ticks) return directives. No clock reads,
/// no I/O, no randomness.
///
/// Roles. The authority is the lowest node ID among alive members that advertise a valid copy of our
/// license and whose MAC is one of its servers. When this node is that lowest one it becomes a
/// candidate: it proposes an epoch above any it has seen, and becomes authority once enough servers
/// promised it (more than half of the license's servers under `majority`, every alive eligible server
/// under `available`) and sent their ledgers, so it never starts from a stale ledger. Promising an epoch
/// means refusing ledger changes from older ones: a cut-off authority cannot complete a grant.
///
/// Every other node is a client of the authority and a replica of the ledger. A client wants
/// `desiredCores` (set by `acquire`, cleared by `release`): while it holds none it asks again by itself,
/// after a refusal once cores are free, after a revocation or a reclaim at once, after a lapsed lease
/// once it hears from an authority again.
///
/// Leases. A holder uses its cores only while it hears from an authority that a quorum of license
/// servers backs (heartbeats, gossiped) at least every `LicensingSettings.lease`; the cores of a node
/// held dead return to the pool only after `deadGracePeriod`, which is longer. So a holder cut off by a
/// partition has stopped using its cores before anyone else is given them.
public struct LicensingNode: Sendable {
    public let id: NodeID
    public let mac: UInt64
    /// This node's life (its boot number, counted in its data directory): its requests name it, and
    /// its advert announces it, so a request of an earlier life is stale everywhere.
    public let life: UInt64
    public internal(set) var terms: LicenseTerms?
    public internal(set) var licenseValid: Bool
    public let settings: LicensingSettings

    public internal(set) var ledger = Ledger()
    /// The highest established epoch we know of, and its authority.
    public internal(set) var epoch = Epoch.none
    public internal(set) var authority: NodeID?
    /// The grant this node holds and may use, as the authority confirmed it.
    public internal(set) var ownGrant: Grant?
    /// Cores this node wants to hold (0: none). Set by `acquire`, cleared by `release` and `leaving`.
    public internal(set) var desiredCores = 0
    /// Why this node's last request was refused, until it holds cores again.
    public internal(set) var lastRefusal: Refusal?
    /// Why this node lost the cores it held, until it holds cores again.
    public internal(set) var lossReason: String?
    /// License servers holding licenses of different licensees (nobody acts as authority meanwhile).
    public internal(set) var mismatch: [ServerLicense] = []
    /// License servers holding different versions of one licensee's license (a renewal being rolled
    /// out; service goes on under the authority's version).
    public internal(set) var licenseMix: [ServerLicense] = []
    /// Live members (this node included) advertising the same MAC: a misconfiguration, or a node
    /// claiming another's identity. None of them may act as authority until it is resolved.
    public internal(set) var duplicateMACs: [MACConflict] = []
    /// The membership layer has completed a full-state exchange since this node started, so this
    /// node's ledger replica holds what the cluster knows. Until then it never proposes an epoch: a
    /// restarted server must not take over from an empty ledger.
    public internal(set) var isSynced = false
    /// Received messages and payloads dropped before they changed anything, by reason.
    public internal(set) var rejections = LicensingRejections()
    /// The latest ledger head an authority announced (`Replication.swift`).
    public internal(set) var announcedHead: LedgerHead?
    /// This replica holds every change up to this stamp (or a newer one for the same node), as far as
    /// the answers to its pulls showed: the next pull asks for what came after.
    public internal(set) var syncedThrough = Stamp.zero
    /// Pulls of the authority's whole ledger (a replica complete up to the head whose digest differed).
    public internal(set) var fullLedgerPulls = 0
    /// No clock reading earlier than this is right: the latest time a previous life saved, raised
    /// while this node runs by its own readings that the license servers' clocks agreed with (in
    /// steps of `timeFloorStep`). Saved with the durable state, so it never goes down.
    public internal(set) var timeFloor: Int64 = 0
    /// The license servers' clocks, relative to this node's, as the last heartbeat reported them.
    public internal(set) var serverClockOffsets: ClockOffsets?
    /// Why this node's clock cannot be trusted (it disagrees with the license servers', or reads
    /// earlier than the license's issue date), or nil. Such a node may not act as authority.
    public internal(set) var clockProblem: String?
    /// This node is leaving the cluster: it takes no part in elections any more (during the linger it
    /// still answers pings, and must not be elected by them).
    public internal(set) var isLeaving = false

    /// The other members as licensing knows them, indexed (`MemberDirectory`).
    var members: MemberDirectory
    /// Members whose advert names one of the license's server MACs, lowest ID first.
    var serverCandidates: [NodeID] { members.serverCandidates }
    /// Bumped when the membership or the license changes; the license judgments (made only then, never
    /// per ledger payload) were last made at `judgedVersion`.
    var membershipVersion: UInt64 = 0
    var judgedVersion: UInt64 = .max
    var promised = Epoch.none
    var promisedTo: NodeID?
    /// The highest epoch heard of in a rejection or a ledger stamp (not promised to anyone).
    var heardEpoch = Epoch.none
    /// Role state. At most one of the two is set; each is changed in place, never copied out and
    /// written back, so a nested change (the authority answering its own request) cannot be lost.
    var candidacy: Candidacy?
    var term: Term?
    var request: PendingRequest?
    var nextRequestID: UInt64
    /// When this node next asks for its cores by itself (after a refusal).
    var nextAttemptAt: Instant?
    /// The ledger's newest stamp when the last refusal came: a newer one may mean cores were freed.
    var ledgerAtRefusal = Stamp.zero
    /// The last word from an authority backed by a quorum (heartbeat or answer): the lease's start.
    var lastContact: Instant?
    /// When this holder may next ask the authority to confirm its grant (`renewLeaseIfDue`).
    var nextRenewalAt: Instant?
    /// Leases renewed by asking, after the authority's heartbeats had missed this node twice.
    public internal(set) var leaseRenewals = 0
    /// Since when no established authority is alive here (nil while one is).
    var authorityMissingSince: Instant?
    var noAuthorityReported = false
    /// The grant a previous life held (restored) or a lapsed lease left, to be confirmed by the
    /// authority before it is used again.
    var heldForReclaim: Grant?
    var outbox: [LicensingDirective] = []
    /// The time of the latest input (time is an argument; this remembers it for rules that age).
    var clock = Instant.zero
    /// The wall clock as the driver last read it.
    var wallReading: WallReading?
    /// When the last member held inactive but heard from stops counting as alive (see `heardWindow`).
    var heardFromInactiveUntil: Instant?
    var pull: PullInFlight?
    var nextFullPullAt: Instant?
    /// Since when this node follows an authority whose ledger head it never received.
    var headMissingSince: Instant?
    /// The newest head the authority's heartbeat named, and the newest a completed pull of its whole
    /// ledger made up for (a replica that holds neither is missing the head).
    var heardHead: (epoch: Epoch, counter: UInt32)?
    var coveredHead: (epoch: Epoch, counter: UInt32)?
    var fullPullBackoff: Duration?
    /// How often the next server in line probes the authority itself (`ClusterNode` sets SWIM's probe
    /// interval; nil: never), and when it next does (`Election.swift`, `watchAuthority`).
    var authorityWatchInterval: Duration?
    var nextWatchAt: Instant?
    var pullCursor: UInt64
    /// When each peer's last pull was answered (`handlePull` throttles).
    var lastServed: [NodeID: (since: Stamp, at: Instant)] = [:]
    /// Ledger holders that are no member this node knows of, since when (their cores are returned after
    /// the grace period, like a dead node's).
    var strangerSince: [NodeID: Instant] = [:]

    struct MemberView: Sendable {
        var state: MemberState
        var address: Address?
        var advert: NodeAdvert?
        var inactiveSince: Instant?
        /// Since when the membership layer has not held it alive (suspect, dead or left).
        var notAliveSince: Instant?
        /// When a licensing message from it last arrived. The membership view lags (a restarted server's
        /// first proposal can arrive before the news that it is back; a refutation after a healed
        /// partition can take a while): a member heard from since it stopped being held alive counts as
        /// alive for choosing the authority, and its cores are not returned as a dead node's.
        var heardAt: Instant?
    }

    /// How long a message from a member held suspect or dead keeps it eligible: long enough for the membership
    /// layer to catch up, short enough that a late datagram of a dead server delays nothing for long.
    var heardWindow: Duration { settings.proposalTimeout * 4 }

    struct Candidacy: Sendable {
        var epoch: Epoch
        var needed: Int
        var deadline: Instant
        var promises: [NodeID: PromiseParts] = [:]
        var rejectedBy: Epoch = .none
    }

    struct PromiseParts: Sendable {
        var total: Int
        var parts: [Int: [Grant]] = [:]
        var complete: Bool { parts.count == total }
    }

    struct Term: Sendable {
        var epoch: Epoch
        var sequence: UInt32 = 0
        var pending: [Stamp: PendingChange] = [:]
        /// The last answer to each node, so a retried request gets the same answer.
        var answered: [NodeID: (requestID: UInt64, outcome: LicensingMessage.Outcome)] = [:]
        /// The current heartbeat, the servers that confirmed it, and whether it renewed the leases.
        var beat: UInt32 = 0
        var beatConfirmations: Set<NodeID> = []
        var beatRenewed = false
        var nextBeatAt: Instant
        /// When a quorum last confirmed this term (its promises, then each confirmed heartbeat).
        var confirmedAt: Instant
        /// Each server's wall clock as its last heartbeat ack reported it, and when that arrived.
        var serverTimes: [NodeID: (time: Int64, at: Instant)] = [:]
        /// The ledger head announced last (`announceHeadIfChanged`), and the changes committed since
        /// that the other servers have not been sent yet.
        var headCounter: UInt32 = 0
        var announcedDigest: UInt64?
        var unpushed: [Grant] = []
    }

    /// A ledger change waiting for a majority of the servers to hold it (policy `majority`).
    struct PendingChange: Sendable {
        var grant: Grant
        /// The entry `grant` replaced in this replica, put back if the change never completes.
        var replaced: Grant?
        var requester: NodeID?
        var requestID: UInt64
        var acks: Set<NodeID>
        /// When the requester is told there is no quorum (the change stays pending and keeps being
        /// sent: it completes, and is published, as soon as enough servers hold it).
        var deadline: Instant
        var requesterTold = false
        var nextRetransmit: Instant
    }

    struct PendingRequest: Sendable {
        enum Kind: Sendable { case acquire(cores: Int, held: Grant?), release }
        var id: RequestID
        var kind: Kind
        /// Asks only to confirm the grant this node holds (its lease); a refusal changes nothing.
        var isRenewal = false
        var target: NodeID?
        var tried: Set<NodeID> = []
        var deadline: Instant
        var isRelease: Bool { if case .release = kind { true } else { false } }
    }

    /// - Parameters:
    ///   - life: this node's boot number: higher in every later life.
    ///   - requestIDBase: where this life's request IDs start. The authority answers a repeated request
    ///     ID with its cached answer, so a restarted node must not reuse its previous life's IDs: the
    ///     runtime passes a random value, the simulator a seeded one.
    public init(id: NodeID, mac: UInt64, terms: LicenseTerms?, licenseValid: Bool,
                settings: LicensingSettings = LicensingSettings(), life: UInt64 = 0, requestIDBase: UInt64 = 1) throws(SettingsError) {
        try settings.validate()
        self.nextRequestID = max(1, requestIDBase)
        self.members = MemberDirectory(ownID: id, ownMAC: mac)
        self.members.relicense(serverMACs: Set(terms?.servers ?? []))
        self.pullCursor = id.rawValue ^ life.byteSwapped
        self.id = id
        self.mac = mac
        self.life = life
        self.terms = terms
        self.licenseValid = licenseValid && terms != nil
        self.settings = settings
    }

    // MARK: - What others read

    /// What this node advertises in its member metadata.
    public var advert: NodeAdvert {
        NodeAdvert(mac: mac, licenseID: terms?.id ?? "", licenseValid: licenseValid, lineage: terms?.lineage ?? 0, life: life,
                   clockTrusted: clockProblem == nil)
    }

    public var policy: PartitionPolicy { settings.policy ?? terms?.defaultPolicy ?? .available }

    public var isAuthority: Bool { term != nil }
    public var isCandidate: Bool { candidacy != nil }
    public var hasPendingRequest: Bool { request != nil }
    /// The request in flight, if any.
    public var pendingRequestID: RequestID? { request?.id }

    /// The lowest alive eligible server, by this node's view: who should be authority.
    public var expectedAuthority: NodeID? { eligibleServers().first }

    /// The latest instant by which `tick(now:)` must be called.
    public var nextDeadline: Instant {
        var deadline = Instant.distantFuture
        func consider(_ instant: Instant?) { if let instant, instant < deadline { deadline = instant } }
        consider(request?.deadline)
        consider(candidacy?.deadline)
        if let term {
            for change in term.pending.values {
                consider(change.requesterTold ? change.nextRetransmit : min(change.deadline, change.nextRetransmit))
            }
            consider(term.nextBeatAt)
            consider(nextReleaseDue)
        }
        if ownGrant != nil, let lastContact { consider(lastContact + settings.lease) }
        consider(leaseRenewalDue)
        // A member held dead but heard from lately stops counting as alive then.
        if let until = heardFromInactiveUntil, until > clock { consider(until) }
        if wantsToAsk { consider(nextAttemptAt) }
        consider(nextPullAt)
        consider(nextWatchAt)
        return deadline
    }

    // MARK: - Inputs

    /// The membership view, whole: every other member as SWIM knows it (a start from a converged view;
    /// members missing from it were forgotten).
    public mutating func updateMembership(_ view: [Member], now: Instant) -> [LicensingDirective] {
        let present = Set(view.map(\.id))
        return updateMembers(view, forgotten: members.views.keys.filter { !present.contains($0) }.sorted(), now: now)
    }

    /// Some members changed: `changed` as SWIM now holds them, `forgotten` no longer held at all (their
    /// tombstones expired). The cost is that of the changes, whatever the cluster's size.
    public mutating func updateMembers(_ changed: [Member], forgotten: [NodeID], now: Instant) -> [LicensingDirective] {
        clock = max(clock, now)
        for member in changed where member.id != id {
            var entry = members[member.id] ?? MemberView(state: member.state, advert: nil, inactiveSince: nil)
            if member.state.isActive {
                entry.inactiveSince = nil
            } else if entry.inactiveSince == nil || entry.state.isActive {
                entry.inactiveSince = now
            }
            if member.state == .alive {
                entry.notAliveSince = nil
            } else if entry.notAliveSince == nil {
                entry.notAliveSince = now
            }
            entry.state = member.state
            entry.address = member.address
            entry.advert = NodeAdvert(metadata: member.metadata)
            members.set(member.id, entry)
            if heardLately(entry) { noteHeardFromInactive(until: entry.heardAt! + heardWindow) }
        }
        for node in forgotten where node != id {
            // Forgotten by SWIM (tombstone expired): keep it as dead for the release clock.
            guard var gone = members[node] else { continue }
            gone.state = .dead
            if gone.inactiveSince == nil { gone.inactiveSince = now }
            if gone.notAliveSince == nil { gone.notAliveSince = now }
            members.set(node, gone)
        }
        membershipVersion &+= 1
        reconsider(now: now)
        return finish(now: now)
    }

    /// Whether a payload may be stored and passed on: anything not the ledger's, and ledger payloads
    /// naming a plausible epoch.
    public func accepts(_ payload: AppPayload) -> Bool {
        guard payload.key.hasPrefix("lm.") else { return true }
        guard let decoded = LedgerPayloads.decode(payload) else { return false }
        return decoded.epochs.allSatisfy(isPlausible)
    }

    /// A ledger payload arrived through SWIM (gossip or push-pull).
    public mutating func receivePayload(_ payload: AppPayload, now: Instant) -> [LicensingDirective] {
        clock = max(clock, now)
        let decoded = LedgerPayloads.decode(payload)
        if let epochs = decoded?.epochs, !epochs.allSatisfy(isPlausible) {
            rejections.implausible += 1
            return flush()
        }
        switch decoded {
        case .head(let head)?:
            learnHead(head)
        case .epoch(let newEpoch, let newAuthority, _, let headCounter, let clocks)?:
            // An epoch newer than any we know of was established moments ago: its authority is alive,
            // even while our membership still holds it dead (a restart whose refutation has not reached
            // us). Taking over from it would revoke what it just granted. A replay carries only epochs
            // we have seen, so proves nothing.
            if newEpoch > highestEpochSeen { noteHeard(from: newAuthority, now: now) }
            learnEpoch(newEpoch, authority: newAuthority, now: now)
            if newEpoch == epoch, newAuthority == authority {
                // A heartbeat of the authority we follow renews this node's lease, and says the time.
                lastContact = now
                if let clocks { learnServerClocks(clocks, now: now) }
                heardHeadCounter(headCounter, epoch: newEpoch)
            } else if newEpoch < highestEpochSeen, newAuthority != id, members[newAuthority]?.state == .alive {
                // An authority below an epoch we know of (established while it was away: a restart, a
                // partition under `available`). Its grants would lose to that epoch's stamps; tell it,
                // so that it steps down and the lowest server proposes above both.
                send(.reject(newEpoch, promised: highestEpochSeen), to: newAuthority)
            }
        case nil:
            break
        }
        reconsider(now: now)
        return finish(now: now)
    }

    /// A licensing message arrived from a member. `address` is where it came from (nil when the
    /// driver cannot tell): a message claiming to be from a member but sent from another address is
    /// dropped, so a key holder cannot act for another node.
    public mutating func receive(_ message: LicensingMessage, from sender: NodeID, address: Address? = nil,
                                 now: Instant) -> [LicensingDirective] {
        clock = max(clock, now)
        guard message.epochs.allSatisfy(isPlausible) else {
            rejections.implausible += 1
            return flush()
        }
        if let address, let known = members[sender]?.address, known != address {
            rejections.notFromMember += 1
            return flush()
        }
        // A message naming an epoch newer than any we know of was sent moments ago (a replay names only
        // epochs we have seen): its sender is alive, even while our membership still holds it dead.
        if let newest = message.epochs.max(), newest > highestEpochSeen { noteHeard(from: sender, now: now) }
        switch message {
        case .acquire(let requestID, let life, let basis, let cores, let senderMAC, let held):
            handleAcquire(from: sender, requestID: requestID, life: life, basis: basis, cores: cores, mac: senderMAC, held: held, now: now)
        case .release(let requestID, let life, let basis):
            handleRelease(from: sender, requestID: requestID, life: life, basis: basis, now: now)
        case .reply(let requestID, let outcome):
            handleReply(requestID: requestID, outcome: outcome, from: sender, now: now)
        case .propose(let proposed):
            handlePropose(proposed, from: sender, now: now)
        case .promise(let promisedEpoch, let part, let total, let grants):
            handlePromise(promisedEpoch, part: part, of: total, grants: grants, from: sender, now: now)
        case .reject(let rejected, let higher):
            handleReject(rejected, promised: higher, now: now)
        case .replicate(let replicatedEpoch, let grant):
            handleReplicate(replicatedEpoch, grant, from: sender, now: now)
        case .replicated(let ackedEpoch, let stamp):
            handleReplicated(ackedEpoch, stamp, from: sender, now: now)
        case .heartbeat(let beatEpoch, let beat, _):
            handleHeartbeat(beatEpoch, beat: beat, from: sender, now: now)
        case .heartbeatAck(let beatEpoch, let beat, let time):
            handleHeartbeatAck(beatEpoch, beat: beat, time: time, from: sender, now: now)
        case .pull(let since, let held):
            handlePull(since: since, held: held, from: sender, now: now)
        case .entries(let part):
            handleEntries(part, from: sender, now: now)
        }
        return finish(now: now)
    }

    /// What a server must keep across a restart (the agent writes it to its data directory): the
    /// epoch it promised, so it never promises an older one again, and its ledger replica, so a
    /// majority of freshly restarted servers cannot start an epoch from empty ledgers. The own grant
    /// is kept only to be confirmed again: a restarted node re-acquires before it validates.
    public var durableState: LicensingDurableState {
        LicensingDurableState(epoch: epoch, authority: authority, promised: promised,
                              grants: ledger.grants.values.sorted { $0.node < $1.node }, ownGrant: ownGrant ?? heldForReclaim,
                              savedAt: timeFloor)
    }

    /// Restores what a previous life saved. Call before anything else.
    public mutating func restore(_ state: LicensingDurableState) {
        for grant in state.grants { ledger.merge(grant) }
        epoch = max(epoch, state.epoch)
        // This node is no authority after a restart, whatever it was before.
        authority = state.authority == id ? nil : state.authority
        promised = max(promised, state.promised, state.epoch)
        heldForReclaim = state.ownGrant.flatMap { $0.node == id && $0.cores > 0 ? $0 : nil }
        timeFloor = max(timeFloor, state.savedAt)
    }

    /// The membership layer finished its first full-state exchange (or this node started the cluster).
    public mutating func membershipSynced(now: Instant) -> [LicensingDirective] {
        clock = max(clock, now)
        guard !isSynced else { return [] }
        isSynced = true
        reconsider(now: now)
        return finish(now: now)
    }

    /// Asks the authority for `cores` (the configured count when nil), and keeps wanting them: if the
    /// request is refused, or the cores are later lost, this node asks again by itself. The request is
    /// settled later by a `requestSettled` event with the returned ID (at once when it is invalid).
    /// After a restart, the request also asks to confirm the grant the previous life held.
    public mutating func acquire(cores: Int? = nil, now: Instant) -> (RequestID, [LicensingDirective]) {
        clock = max(clock, now)
        let wanted = cores ?? settings.requestedCores
        if let problem = unlicensedReason {
            // Wanted all the same: asked for as soon as a valid license is installed.
            if wanted >= 1 { desiredCores = wanted }
            let id = takeRequestID()
            settle(id, .refused(.notLicensed(problem)), now: now)
            return (id, finish(now: now))
        }
        guard wanted >= 1 else {
            let id = takeRequestID()
            settle(id, .refused(.invalidRequest("ask for at least one core (got \(wanted)), or release the cores instead")), now: now)
            return (id, finish(now: now))
        }
        if let terms, wanted > terms.maxCores {
            // More than the whole cluster may hold: no authority could ever grant it, so say so now.
            let id = takeRequestID()
            settle(id, .refused(.cpuLimitExhausted(limit: terms.maxCores, inUse: ledger.total { $0 != self.id }, requested: wanted,
                                                    holders: ledger.holders)), now: now)
            return (id, finish(now: now))
        }
        desiredCores = wanted
        nextAttemptAt = nil
        let id = startAcquire(now: now)
        return (id, finish(now: now))
    }

    /// Gives this node's cores back, and stops wanting any.
    public mutating func release(now: Instant) -> (RequestID, [LicensingDirective]) {
        clock = max(clock, now)
        desiredCores = 0
        nextAttemptAt = nil
        lastRefusal = nil
        heldForReclaim = nil
        let acquireInFlight = request.map { !$0.isRelease } ?? false
        if ownGrant == nil, ledger.cores(of: id) == 0, !acquireInFlight {
            // Nothing held, nothing being asked for: released already, no need to ask anyone.
            let id = takeRequestID()
            settle(id, .released, now: now)
            return (id, finish(now: now))
        }
        // It stops using its cores now, not when the authority answers: the authority may give them
        // to another node the moment it records the release.
        dropGrant(reason: "this node released its cores", now: now)
        let id = startRequest(.release, now: now)
        return (id, finish(now: now))
    }

    /// Runs timers that have come due.
    public mutating func tick(now: Instant) -> [LicensingDirective] {
        clock = max(clock, now)
        if let pending = request, now >= pending.deadline { requestTimedOut(now: now) }
        if let candidacy, now >= candidacy.deadline { candidacyTimedOut(candidacy, now: now) }
        if term != nil {
            retransmitPendingChanges(now: now)
            if let due = term?.nextBeatAt, now >= due { heartbeat(now: now) }
            releaseDepartedHolders(now: now)
        }
        expireLease(now: now)
        renewLeaseIfDue(now: now)
        if let due = nextWatchAt, now >= due { watchAuthority() }
        reconsider(now: now)
        return finish(now: now)
    }

    /// This node is leaving the cluster: it stops serving at once, so it gives up its grant locally
    /// (the authority returns the cores when it hears of the departure) and stops acting as authority.
    public mutating func leaving(now: Instant) -> [LicensingDirective] {
        clock = max(clock, now)
        isLeaving = true
        if let pending = request { settle(pending.id, .abandoned("this node is leaving the cluster"), now: now) }
        request = nil
        desiredCores = 0
        nextAttemptAt = nil
        // Give the cores back on the way out (nobody waits for the answer): they are free at once, and
        // the authority need not trust a departure it hears of before returning them.
        if let held = ledger.grants[id], held.cores > 0 {
            let release = LicensingMessage.release(requestID: takeRequestID().rawValue, life: life, basis: held.stamp)
            if isAuthority {
                receiveLocally(release, now: now)
            } else if let current = authority, members[current]?.state == .alive {
                send(release, to: current)
            }
        }
        if let term { stepDown(from: term.epoch, newer: term.epoch, now: now) }
        candidacy = nil
        if ownGrant != nil {
            ownGrant = nil
            lossReason = "this node left the cluster"
            emit(.ownGrantLost(reason: "this node left the cluster"), now: now)
        }
        return flush()
    }

    /// Installs a new license (SIGHUP reload). The advert changes; the driver republishes it. A node
    /// that wants cores and holds none asks again at once (a renewed license may list it now).
    public mutating func replaceLicense(_ newTerms: LicenseTerms?, valid: Bool, now: Instant) -> [LicensingDirective] {
        clock = max(clock, now)
        terms = newTerms
        members.relicense(serverMACs: Set(newTerms?.servers ?? []))
        membershipVersion &+= 1
        licenseValid = valid && newTerms != nil
        if licenseValid { nextAttemptAt = nil; lastRefusal = lastRefusal.flatMap { if case .notLicensed = $0 { nil } else { $0 } } }
        reconsider(now: now)
        if term != nil { enforceLimit(now: now) }
        return finish(now: now)
    }

    /// `sender` proved it is alive now: it sent something only a live node could (a proposal of a new
    /// epoch, an answer to a request or a heartbeat of ours, a request on its current entry). Anything
    /// a replayer could re-send proves nothing and is not noted.
    mutating func noteHeard(from sender: NodeID, now: Instant) {
        guard sender != id else { return }
        members.noteHeard(from: sender, at: now)
        if let view = members[sender], heardLately(view) { noteHeardFromInactive(until: now + heardWindow) }
    }

    /// A member held inactive counts as alive until `until` (it was heard from): reconsider then.
    mutating func noteHeardFromInactive(until: Instant) {
        if heardFromInactiveUntil.map({ $0 < until || $0 <= clock }) ?? true { heardFromInactiveUntil = until }
    }

    // MARK: - Output helpers

    /// Every input ends here: a node that wants cores and may ask for them does so, then the
    /// directives go out.
    mutating func finish(now: Instant) -> [LicensingDirective] {
        askAgainIfDue(now: now)
        announceHeadIfChanged(now: now)
        pullIfDue(now: now)
        scheduleAuthorityWatch(now: now)
        return flush()
    }

    mutating func flush() -> [LicensingDirective] {
        defer { outbox.removeAll(keepingCapacity: true) }
        return outbox
    }

    mutating func emit(_ kind: LicensingEvent.Kind, now: Instant) {
        outbox.append(.event(LicensingEvent(at: now, kind: kind)))
    }

    mutating func send(_ message: LicensingMessage, to node: NodeID) {
        outbox.append(.send(message, to: node))
    }
}

/// Two or more live members advertising one MAC.
public struct MACConflict: Hashable, Sendable, CustomStringConvertible {
    public var mac: UInt64
    public var nodes: [NodeID]
    public var description: String {
        "MAC \(formatMAC(mac)) is advertised by \(nodes.count) live members (\(nodes.map(\.description).joined(separator: ", ")))"
    }
}

/// Received licensing messages and payloads dropped, by reason (for the metrics).
public struct LicensingRejections: Hashable, Sendable {
    /// Naming an epoch no cluster could have reached (`LicensingNode.isPlausible`).
    public var implausible = 0
    /// Claiming to come from a member, but sent from another address than the member's.
    public var notFromMember = 0
    /// Requests of another life than the sender's, or on an older ledger entry than the current one
    /// (replays): answered with the current entry, nothing changed.
    public var stale = 0
    /// Requests for cores from a node that is not a live member advertising a valid license.
    public var notAMember = 0
    /// Heartbeats reaching a node that is no license server (replays), and heartbeat acks from one.
    public var notAServer = 0
    /// Ledger entries from a node this one neither asked nor follows as authority.
    public var unsolicitedEntries = 0
    /// Pulls from a peer answered less than half a pull interval before (replays, or a peer looping).
    public var throttledPulls = 0
    public init() {}
}

/// The answer of a local license check.
public enum LicenseCheck: Hashable, Sendable {
    case allowed(Grant)
    case denied(String)

    public var isAllowed: Bool { if case .allowed = self { true } else { false } }
    public var message: String {
        switch self {
        case .allowed(let grant): "licensed: \(grant.cores) cores"
        case .denied(let reason): reason
        }
    }
}

/// YYYY-MM-DD (UTC) of a Unix time, as license messages print dates.
public func formatUnixDate(_ unixSeconds: Int64) -> String {
    String(LicenseDate(secondsSince1970: unixSeconds).rfc3339.prefix(10))
}

/// What a licensing node keeps across restarts (see `LicensingNode.durableState`).
public struct LicensingDurableState: Hashable, Sendable {
    public var epoch: Epoch
    public var authority: NodeID?
    public var promised: Epoch
    public var grants: [Grant]
    public var ownGrant: Grant?
    /// The wall time it was saved at (its data directory records it): the next life's time floor.
    public var savedAt: Int64

    public init(epoch: Epoch, authority: NodeID?, promised: Epoch, grants: [Grant], ownGrant: Grant?, savedAt: Int64 = 0) {
        self.epoch = epoch
        self.authority = authority
        self.promised = promised
        self.grants = grants
        self.ownGrant = ownGrant
        self.savedAt = savedAt
    }
}
