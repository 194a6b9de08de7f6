import Licensing
import SWIM
import Wire

/// The side effects of the licensing layer in a running agent, on the agent's I/O thread. Every
/// licensing decision is the `ClusterNode`'s (the composition the simulator checks); after each output
/// this persists the durable state (before any message leaves: a promise must be on disk first),
/// reports the events (log, counters, event stream), answers the clients waiting on settled requests,
/// and republishes what a license check reads.
final class LicensingRuntime {
    let shared: LicensedShared
    let store: DurableStateStore?
    let log: AgentLog
    /// Ask for the configured cores when the loop starts.
    let acquireOnStart: Bool

    /// Clients waiting for a request of this node, by its ID (`LicensingEvent.Kind.requestSettled`).
    private var waiters: [RequestID: [FirstAnswer<RequestAnswer>]] = [:]
    private var suspicionClock = SuspicionClock()
    private var recordedIncarnation: UInt64 = 0
    private var publishedValidation: ValidationStamp?

    /// What `LicensingNode.validate` reads; republished when it changes.
    private struct ValidationStamp: Equatable {
        var terms: LicenseTerms?
        var licenseValid: Bool
        var ownGrant: Grant?
        var desiredCores: Int
        var lastRefusal: Refusal?
        var lossReason: String?
        var pendingRequest: RequestID?
        var ledger: Stamp
        var serverClocks: ClockOffsets?
        var clockProblem: String?
    }

    init(shared: LicensedShared, store: DurableStateStore?, log: AgentLog, acquireOnStart: Bool) {
        self.shared = shared
        self.store = store
        self.log = log
        self.acquireOnStart = acquireOnStart
    }

    func started(_ node: ClusterNode) {
        recordedIncarnation = node.swim.myself.incarnation
        publish(node)
    }

    /// A client waits for request `id` (nil: the node has no licensing layer).
    func wait(for id: RequestID?, _ answer: FirstAnswer<RequestAnswer>, node: ClusterNode) {
        guard let id else {
            answer.resolve(RequestAnswer(outcome: .refused, cores: 0, authority: nil, message: "this agent has no licensing layer"))
            return
        }
        waiters[id, default: []].append(answer)
    }

    /// Before the output's directives are carried out: what must be on disk before a message leaves.
    func persist(_ node: ClusterNode) {
        guard let licensing = node.licensing else { return }
        store?.record(licensing.durableState)
        if node.swim.myself.incarnation > recordedIncarnation {
            recordedIncarnation = node.swim.myself.incarnation
            store?.recordIncarnation(recordedIncarnation)
        }
    }

    /// After the output's directives were carried out: report, answer, republish.
    func observe(_ output: ClusterNode.Output, node: ClusterNode, now: Instant) {
        for directive in output.directives {
            guard case .event(let event) = directive, let latency = suspicionClock.observe(event) else { continue }
            shared.count { $0.detectionLatency.observe(latency.seconds) }
        }
        if output.malformedLicensingMessages > 0 {
            shared.count { $0.malformedMessages += output.malformedLicensingMessages }
            log.limited("malformed-licensing", .warning, "malformed licensing message dropped",
                        [LogField("count", "\(output.malformedLicensingMessages)")])
        }
        for event in output.licensingEvents { report(event, selfID: node.id) }
        // Republished before anyone waiting is answered: a client told "granted" validates next, and
        // must find the grant there.
        publish(node)
        for event in output.licensingEvents {
            guard case .requestSettled(let id, let outcome) = event.kind, let waiting = waiters.removeValue(forKey: id) else { continue }
            let answer = answer(outcome, node: node)
            for slot in waiting { slot.resolve(answer) }
        }
    }

    /// The node is leaving: nobody will answer what is still pending.
    /// Saves what the envelope accepted so far, so a restart keeps rejecting it (every few seconds,
    /// and on stop).
    func checkpointEnvelope(_ session: EnvelopeSession) {
        store?.recordFreshness(FreshnessRecord(ownBoot: session.sender.boot, floors: session.floors))
    }

    func leaving(_ node: ClusterNode) {
        answerAll("this node is leaving the cluster", node: node)
    }

    func stopped(_ node: ClusterNode) {
        answerAll("the agent stopped", node: node)
        persist(node)
        store?.close()
        shared.events.finish()
    }

    private func answerAll(_ message: String, node: ClusterNode) {
        let pending = waiters.values.flatMap { $0 }
        waiters.removeAll()
        for slot in pending {
            slot.resolve(RequestAnswer(outcome: .unavailable, cores: node.licensing?.ownGrant?.cores ?? 0,
                                       authority: node.licensing?.authority?.description, message: message))
        }
    }

    /// Republishes the licensing state for license checks on other threads, when what they read changed.
    private func publish(_ node: ClusterNode) {
        guard let licensing = node.licensing else { return }
        let stamp = ValidationStamp(terms: licensing.terms, licenseValid: licensing.licenseValid, ownGrant: licensing.ownGrant,
                                    desiredCores: licensing.desiredCores, lastRefusal: licensing.lastRefusal,
                                    lossReason: licensing.lossReason, pendingRequest: licensing.pendingRequestID,
                                    ledger: licensing.ledger.newestStamp, serverClocks: licensing.serverClockOffsets,
                                    clockProblem: licensing.clockProblem)
        guard stamp != publishedValidation else { return }
        publishedValidation = stamp
        shared.validation.withLock { $0 = licensing }
    }

    /// Lines per kind of licensing event per 10 s: more than a cluster's start or a takeover logs, far
    /// fewer than a flood of forged or replayed requests would.
    static let logBurst = 50

    private func report(_ event: LicensingEvent, selfID: NodeID) {
        if case .requestSettled(_, .refused) = event.kind {
            // A refused node asks again every few seconds: one line per interval says it all.
            log.limited("request-refused", event.logLevel, event.logMessage, event.logFields(selfID: selfID))
        } else {
            log.limited("licensing-\(event.eventName)", burst: Self.logBurst, event.logLevel, event.logMessage, event.logFields(selfID: selfID))
        }
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

    /// A settled request, as the local API answers it.
    func answer(_ outcome: RequestOutcome, node: ClusterNode) -> RequestAnswer {
        let authority = node.licensing?.authority?.description
        let held = node.licensing?.ownGrant?.cores ?? 0
        switch outcome {
        case .granted(let grant):
            return RequestAnswer(outcome: .granted, cores: grant.cores, authority: authority, message: "granted \(grant.cores) cores (stamp \(grant.stamp))")
        case .released:
            return RequestAnswer(outcome: .released, cores: 0, authority: authority, message: "released this node's cores")
        case .refused(let refusal):
            let kind: RequestAnswer.Outcome = if case .cpuLimitExhausted = refusal { .exhausted } else { .refused }
            // The node only knows its license "did not verify"; the verifier's reason is at hand here.
            let problem = if case .notLicensed = refusal { shared.license.withLock { $0.problem } } else { String?.none }
            return RequestAnswer(outcome: kind, cores: held, authority: authority, message: problem ?? refusal.description)
        case .superseded:
            return RequestAnswer(outcome: .unavailable, cores: held, authority: authority, message: "superseded by a request made meanwhile")
        case .abandoned(let reason):
            return RequestAnswer(outcome: .unavailable, cores: held, authority: authority, message: reason)
        }
    }
}
