import Licensing
import SWIM

/// The licensing layer riding an agent: owns a `LicensingNode` on the agent's I/O thread and
/// translates between it and the membership layer, the way `ClusterNode` does in the simulator.
///
/// SWIM's deliveries (ledger payloads, licensing messages, membership changes) go to licensing;
/// licensing's directives (send a message, publish a ledger change, probe a member) come back as
/// `AgentAction`s. After every call the state a license check reads is republished, the durable state
/// saved if it changed, and pending client requests answered once licensing has settled them.
public final class LicensingApplication: AgentApplication {
    /// The state machine; read it on the I/O thread only (through `Agent.withApplication`).
    public private(set) var licensing: LicensingNode

    let shared: LicensedShared
    let store: DurableStateStore?
    let log: AgentLog
    let acquireOnStart: Bool

    /// How often an unsynced node checks whether it has joined (a node that founds the cluster gets no
    /// event when it does), and how often a synced one does its housekeeping.
    static let joinPollInterval: Duration = .milliseconds(100)
    static let housekeepingInterval: Duration = .seconds(1)

    private var pollAt = Instant.zero
    private var syncDue = false
    private var suspicionClock = SuspicionClock()
    private var recordedIncarnation: UInt64 = 0
    private var publishedValidation: ValidationStamp?
    var waiters: [RequestWaiter] = []

    /// What `LicensingNode.validate` reads; republished when it changes.
    private struct ValidationStamp: Equatable {
        var terms: LicenseTerms?
        var licenseValid: Bool
        var ownGrant: Grant?
        var lastRefusal: Refusal?
    }

    init(licensing: LicensingNode, shared: LicensedShared, store: DurableStateStore?, log: AgentLog, acquireOnStart: Bool) {
        self.licensing = licensing
        self.shared = shared
        self.store = store
        self.log = log
        self.acquireOnStart = acquireOnStart
    }

    // MARK: - Agent hooks

    public func started(_ context: AgentContext) -> [AgentAction] {
        recordedIncarnation = context.myself.incarnation
        pollAt = context.now + Self.joinPollInterval
        guard acquireOnStart else { return settle(context, []) }
        return run(context) { node in node.acquire(now: context.now) }
    }

    public func payloadDelivered(_ payload: AppPayload, _ context: AgentContext) -> [AgentAction] {
        run(context) { node in node.receivePayload(payload, now: context.now) }
    }

    public func messageDelivered(_ message: AppMessage, from address: Address, _ context: AgentContext) -> [AgentAction] {
        guard let decoded = LicensingCodec.decode(message.bytes) else {
            shared.count { $0.malformedMessages += 1 }
            log.limited("malformed-licensing", .warning, "malformed licensing message dropped",
                        [LogField("from", message.source.description), LogField("address", address.rawValue),
                         LogField("size", "\(message.bytes.count)")])
            return []
        }
        return run(context) { node in node.receive(decoded, from: message.source, now: context.now) }
    }

    public func membershipChanged(_ event: MembershipEvent, _ context: AgentContext) -> [AgentAction] {
        if let latency = suspicionClock.observe(event) {
            shared.count { $0.detectionLatency.observe(latency.seconds) }
        }
        switch event.kind {
        case .joined, .suspected, .refuted, .confirmedDead, .left, .updated, .forgotten:
            return run(context) { node in node.updateMembership(context.members, now: context.now) }
        case .refutedSuspicionOfSelf, .idConflict:
            return settle(context, [])
        }
    }

    public func tick(_ context: AgentContext) -> [AgentAction] {
        var actions: [AgentAction] = []
        if syncDue {
            // Deferred to here so that everything the joining exchange brought (members, ledger
            // payloads) is in before licensing decides whether to propose.
            syncDue = false
            actions += run(context) { node in node.membershipSynced(now: context.now) }
        }
        if context.now >= licensing.nextDeadline {
            actions += run(context) { node in node.tick(now: context.now) }
        }
        if context.now >= pollAt {
            pollAt = context.now + (licensing.isSynced ? Self.housekeepingInterval : Self.joinPollInterval)
            actions += settle(context, [])
        }
        return actions
    }

    public var nextDeadline: Instant {
        min(licensing.nextDeadline, syncDue ? .zero : pollAt)
    }

    public func leaving(_ context: AgentContext) -> [AgentAction] {
        let actions = run(context) { node in node.leaving(now: context.now) }
        answerAllWaiters(.unavailable, "this node is leaving the cluster")
        return actions
    }

    public func stopped() {
        answerAllWaiters(.unavailable, "the agent stopped")
        store?.close()
        shared.events.finish()
    }

    // MARK: - Requests from outside (through Agent.withApplication)

    /// Installs a new license (SIGHUP) and announces the new advert.
    func replaceLicense(_ installed: InstalledLicense, _ context: AgentContext) -> [AgentAction] {
        var actions = run(context) { node in
            node.replaceLicense(installed.terms, valid: installed.isValid, now: context.now)
        }
        actions.append(.updateMetadata(licensing.advert.metadata))
        // The new metadata goes out with the next incarnation: the next life must start above it.
        recordedIncarnation = max(recordedIncarnation, context.myself.incarnation + 1)
        store?.recordIncarnation(recordedIncarnation)
        // A node that was unlicensed asks for its cores now that it may.
        if installed.isValid, licensing.ownGrant == nil, !licensing.hasPendingRequest, licensing.settings.requestedCores > 0 {
            actions += run(context) { node in node.acquire(now: context.now) }
        }
        return actions
    }

    /// Runs one call into the licensing state machine and carries out what it asked for.
    func run(_ context: AgentContext, _ call: (inout LicensingNode) -> [LicensingDirective]) -> [AgentAction] {
        let (actions, events) = LicensingDirective.split(call(&licensing))
        for event in events { report(event) }
        return actions + settle(context, events)
    }

    /// After any change: note a join, republish, persist, and answer requests licensing has settled.
    private func settle(_ context: AgentContext, _ events: [LicensingEvent]) -> [AgentAction] {
        if !licensing.isSynced, !syncDue, context.isJoined { syncDue = true }
        if context.myself.incarnation > recordedIncarnation {
            recordedIncarnation = context.myself.incarnation
            store?.recordIncarnation(recordedIncarnation)
        }
        let stamp = ValidationStamp(terms: licensing.terms, licenseValid: licensing.licenseValid,
                                    ownGrant: licensing.ownGrant, lastRefusal: licensing.lastRefusal)
        if stamp != publishedValidation {
            publishedValidation = stamp
            let copy = licensing
            shared.validation.withLock { $0 = copy }
        }
        store?.record(licensing.durableState)
        answerSettledWaiters(events)
        return []
    }

    private func report(_ event: LicensingEvent) {
        log.log(event.logLevel, event.logMessage, event.logFields(selfID: licensing.id))
        shared.events.yield(event)
        shared.count { counters in
            switch event.kind {
            case .granted: counters.grants += 1
            case .released: counters.releases += 1
            case .refused: counters.refusals += 1
            case .authorityChanged: counters.authorityChanges += 1
            default: break
            }
        }
    }
}
