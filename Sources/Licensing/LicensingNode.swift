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
/// Every other node is a client of the authority and a replica of the ledger.
public struct LicensingNode: Sendable {
    public let id: NodeID
    public let mac: UInt64
    public internal(set) var terms: LicenseTerms?
    public internal(set) var licenseValid: Bool
    public let settings: LicensingSettings

    public internal(set) var ledger = Ledger()
    /// The highest established epoch we know of, and its authority.
    public internal(set) var epoch = Epoch.none
    public internal(set) var authority: NodeID?
    /// The grant this node holds, as the authority confirmed it.
    public internal(set) var ownGrant: Grant?
    /// Why this node's last request was refused, for validation messages.
    public internal(set) var lastRefusal: Refusal?
    public internal(set) var mismatch: [ServerLicense] = []
    /// The membership layer has completed a full-state exchange since this node started, so this
    /// node's ledger replica holds what the cluster knows. Until then it never proposes an epoch: a
    /// restarted server must not take over from an empty ledger.
    public internal(set) var isSynced = false

    var members: [NodeID: MemberView] = [:]
    var promised = Epoch.none
    var promisedTo: NodeID?
    var role = Role.follower
    var request: PendingRequest?
    var nextRequestID: UInt64 = 1
    var outbox: [LicensingDirective] = []
    var noAuthorityReported = false
    /// The grant a previous life held (restored), to be confirmed by the authority before use.
    var heldForReclaim: Grant?

    struct MemberView: Sendable {
        var state: MemberState
        var advert: NodeAdvert?
        var inactiveSince: Instant?
    }

    enum Role: Sendable {
        case follower
        case candidate(Candidacy)
        case authority(Term)
    }

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
    }

    /// A ledger change waiting for a majority of the servers to hold it (policy `majority`).
    struct PendingChange: Sendable {
        var grant: Grant
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
        var id: UInt64
        var kind: Kind
        var target: NodeID?
        var tried: Set<NodeID> = []
        var deadline: Instant
    }

    /// - Parameter requestIDBase: where this life's request IDs start. The authority answers a repeated
    ///   request ID with its cached answer, so a restarted node must not reuse its previous life's IDs:
    ///   the runtime passes a random value, the simulator a seeded one.
    public init(id: NodeID, mac: UInt64, terms: LicenseTerms?, licenseValid: Bool,
                settings: LicensingSettings = LicensingSettings(), requestIDBase: UInt64 = 1) throws(SettingsError) {
        try settings.validate()
        self.nextRequestID = max(1, requestIDBase)
        self.id = id
        self.mac = mac
        self.terms = terms
        self.licenseValid = licenseValid && terms != nil
        self.settings = settings
    }

    // MARK: - What others read

    /// What this node advertises in its member metadata.
    public var advert: NodeAdvert {
        NodeAdvert(mac: mac, licenseID: terms?.id ?? "", licenseValid: licenseValid)
    }

    public var policy: PartitionPolicy { settings.policy ?? terms?.defaultPolicy ?? .available }

    public var isAuthority: Bool { if case .authority = role { true } else { false } }
    public var isCandidate: Bool { if case .candidate = role { true } else { false } }
    public var hasPendingRequest: Bool { request != nil }

    /// The lowest alive eligible server, by this node's view: who should be authority.
    public var expectedAuthority: NodeID? { eligibleServers().first }

    /// The latest instant by which `tick(now:)` must be called.
    public var nextDeadline: Instant {
        var deadline = Instant.distantFuture
        func consider(_ instant: Instant?) { if let instant, instant < deadline { deadline = instant } }
        consider(request?.deadline)
        switch role {
        case .follower: break
        case .candidate(let candidacy): consider(candidacy.deadline)
        case .authority(let term):
            for change in term.pending.values {
                consider(change.requesterTold ? change.nextRetransmit : min(change.deadline, change.nextRetransmit))
            }
            consider(nextReleaseDue)
        }
        return deadline
    }

    // MARK: - Validation (local, never waits)

    /// Whether this node may serve now (log a user in, run a batch), answered from the local state only.
    public func validate(feature: String? = nil, unixTime: Int64) -> LicenseCheck {
        guard let terms else {
            return .denied("No license is installed on this node. Fix: install the license file and restart or reload the agent (SIGHUP).")
        }
        guard licenseValid else {
            return .denied("The installed license \(terms.id) did not verify on this node; see the agent log for the reason.")
        }
        if let notBefore = terms.notBefore, unixTime < notBefore {
            return .denied("License \(terms.id) is not valid before \(formatUnixDate(notBefore)). Fix: check the system clock, or wait until then.")
        }
        if unixTime >= terms.expires {
            return .denied("License \(terms.id) expired on \(formatUnixDate(terms.expires)). Fix: install a renewed license.")
        }
        if let feature, !terms.features.contains(feature) {
            let list = terms.features.sorted().joined(separator: ", ")
            return .denied("Feature '\(feature)' is not in license \(terms.id) (licensed: \(list.isEmpty ? "none" : list)).")
        }
        guard let grant = ownGrant, grant.cores > 0 else {
            if let lastRefusal { return .denied(lastRefusal.description) }
            return .denied("This node holds no cores yet: its request to the license authority has not been answered. Fix: check `licmesh status` for the authority.")
        }
        return .allowed(grant)
    }

    // MARK: - Inputs

    /// The membership view changed: every other member as SWIM knows it.
    public mutating func updateMembership(_ view: [Member], now: Instant) -> [LicensingDirective] {
        var seen: Set<NodeID> = []
        for member in view where member.id != id {
            seen.insert(member.id)
            var entry = members[member.id] ?? MemberView(state: member.state, advert: nil, inactiveSince: nil)
            if member.state.isActive {
                entry.inactiveSince = nil
            } else if entry.inactiveSince == nil || entry.state.isActive {
                entry.inactiveSince = now
            }
            entry.state = member.state
            entry.advert = NodeAdvert(metadata: member.metadata)
            members[member.id] = entry
        }
        for (node, entry) in members where !seen.contains(node) {
            // Forgotten by SWIM (tombstone expired): keep it as dead for the release clock.
            var gone = entry
            gone.state = .dead
            if gone.inactiveSince == nil { gone.inactiveSince = now }
            members[node] = gone
        }
        reconsider(now: now)
        return flush()
    }

    /// A ledger payload arrived through SWIM (gossip or push-pull).
    public mutating func receivePayload(_ payload: AppPayload, now: Instant) -> [LicensingDirective] {
        switch LedgerPayloads.decode(payload) {
        case .grant(let grant)?:
            if ledger.merge(grant), grant.node == id { ownLedgerEntryChanged(grant, now: now) }
        case .epoch(let newEpoch, let newAuthority)?:
            learnEpoch(newEpoch, authority: newAuthority, now: now)
        case nil:
            break
        }
        reconsider(now: now)
        return flush()
    }

    /// A licensing message arrived from a member.
    public mutating func receive(_ message: LicensingMessage, from sender: NodeID, now: Instant) -> [LicensingDirective] {
        switch message {
        case .acquire(let requestID, let cores, let senderMAC, let held):
            handleAcquire(from: sender, requestID: requestID, cores: cores, mac: senderMAC, held: held, now: now)
        case .release(let requestID):
            handleRelease(from: sender, requestID: requestID, now: now)
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
        }
        return flush()
    }

    /// What a server must keep across a restart (the agent writes it to its data directory): the
    /// epoch it promised, so it never promises an older one again, and its ledger replica, so a
    /// majority of freshly restarted servers cannot start an epoch from empty ledgers. The own grant
    /// is kept only to be confirmed again: a restarted node re-acquires before it validates.
    public var durableState: LicensingDurableState {
        LicensingDurableState(epoch: epoch, authority: authority, promised: promised,
                              grants: ledger.grants.values.sorted { $0.node < $1.node }, ownGrant: ownGrant ?? heldForReclaim)
    }

    /// Restores what a previous life saved. Call before anything else.
    public mutating func restore(_ state: LicensingDurableState) {
        for grant in state.grants { ledger.merge(grant) }
        epoch = max(epoch, state.epoch)
        authority = state.authority
        promised = max(promised, state.promised, state.epoch)
        heldForReclaim = state.ownGrant.flatMap { $0.node == id && $0.cores > 0 ? $0 : nil }
    }

    /// The membership layer finished its first full-state exchange (or this node started the cluster).
    public mutating func membershipSynced(now: Instant) -> [LicensingDirective] {
        guard !isSynced else { return [] }
        isSynced = true
        reconsider(now: now)
        return flush()
    }

    /// Asks the authority for `cores` (the configured count when nil). Answered later through events.
    /// After a restart, the first request asks to confirm the grant the previous life held.
    public mutating func acquire(cores: Int? = nil, now: Instant) -> [LicensingDirective] {
        let held = heldForReclaim
        heldForReclaim = nil
        startRequest(.acquire(cores: held?.cores ?? cores ?? settings.requestedCores, held: held), now: now)
        return flush()
    }

    /// Gives this node's cores back.
    public mutating func release(now: Instant) -> [LicensingDirective] {
        startRequest(.release, now: now)
        return flush()
    }

    /// Runs timers that have come due.
    public mutating func tick(now: Instant) -> [LicensingDirective] {
        if let pending = request, now >= pending.deadline { requestTimedOut(now: now) }
        switch role {
        case .follower:
            break
        case .candidate(let candidacy):
            if now >= candidacy.deadline {
                role = .follower
                reconsider(now: now)   // proposes again if we are still the one
            }
        case .authority(var term):
            for stamp in term.pending.keys.sorted() {
                guard var change = term.pending[stamp] else { continue }
                if now >= change.nextRetransmit {
                    // Datagrams get lost: ask the servers that have not acknowledged again.
                    change.nextRetransmit = now + settings.proposalTimeout.scaled(by: 0.5)
                    for server in eligibleServers() where !change.acks.contains(server) {
                        send(.replicate(term.epoch, change.grant), to: server)
                    }
                }
                if now >= change.deadline, !change.requesterTold {
                    change.requesterTold = true
                    if let requester = change.requester {
                        let refusal = Refusal.noQuorum(reached: change.acks.count, needed: quorum)
                        answer(requester, change.requestID, .refused(refusal), in: &term, now: now)
                        emit(.refused(node: requester, refusal), now: now)
                    }
                }
                term.pending[stamp] = change
            }
            role = .authority(term)
            releaseDepartedHolders(now: now)
        }
        return flush()
    }

    /// This node is leaving the cluster: it stops serving at once, so it gives up its grant locally
    /// (the authority returns the cores when it hears of the departure) and stops acting as authority.
    public mutating func leaving(now: Instant) -> [LicensingDirective] {
        request = nil
        if case .authority(let term) = role { stepDown(from: term.epoch, newer: term.epoch, now: now) }
        role = .follower
        if ownGrant != nil {
            ownGrant = nil
            emit(.ownGrantLost(reason: "this node left the cluster"), now: now)
        }
        return flush()
    }

    /// Installs a new license (SIGHUP reload). The advert changes; the driver republishes it.
    public mutating func replaceLicense(_ newTerms: LicenseTerms?, valid: Bool, now: Instant) -> [LicensingDirective] {
        terms = newTerms
        licenseValid = valid && newTerms != nil
        reconsider(now: now)
        return flush()
    }

    // MARK: - Output helpers

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

    public init(epoch: Epoch, authority: NodeID?, promised: Epoch, grants: [Grant], ownGrant: Grant?) {
        self.epoch = epoch
        self.authority = authority
        self.promised = promised
        self.grants = grants
        self.ownGrant = ownGrant
    }
}
