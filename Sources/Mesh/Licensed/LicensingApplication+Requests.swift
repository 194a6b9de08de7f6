import Licensing
import SWIM

/// A client waiting for the answer to an acquire or a release (the local HTTP API, a graceful leave).
struct RequestWaiter {
    enum Kind: Equatable { case acquire, release }
    var kind: Kind
    var slot: FirstAnswer<RequestAnswer>
}

/// Acquire and release on behalf of a client that waits for the answer. Licensing keeps one request
/// in flight; it settles when the authority answers (or the replicated ledger shows the outcome), and
/// every waiter of that kind is answered then. A new request of the other kind replaces the one in
/// flight, whose waiters are told so.
extension LicensingApplication {
    func acquire(cores: Int?, answer slot: FirstAnswer<RequestAnswer>, _ context: AgentContext) -> [AgentAction] {
        if let problem = unlicensedReason {
            slot.resolve(RequestAnswer(outcome: .refused, cores: 0, authority: authorityText, message: problem))
            return []
        }
        if let cores, cores < 1 {
            slot.resolve(RequestAnswer(outcome: .refused, cores: 0, authority: authorityText,
                                       message: "Invalid request: ask for at least one core (got \(cores)), or release the cores instead."))
            return []
        }
        supersede(by: .acquire)
        waiters.append(RequestWaiter(kind: .acquire, slot: slot))
        return run(context) { node in node.acquire(cores: cores, now: context.now) }
    }

    func release(answer slot: FirstAnswer<RequestAnswer>, _ context: AgentContext) -> [AgentAction] {
        if licensing.ownGrant == nil, licensing.ledger.cores(of: licensing.id) == 0, !licensing.hasPendingRequest {
            slot.resolve(RequestAnswer(outcome: .released, cores: 0, authority: authorityText, message: "this node holds no cores"))
            return []
        }
        supersede(by: .release)
        waiters.append(RequestWaiter(kind: .release, slot: slot))
        return run(context) { node in node.release(now: context.now) }
    }

    /// Why this node may not ask for cores at all (its own license check failed), or nil.
    var unlicensedReason: String? {
        guard !licensing.licenseValid else { return nil }
        if let problem = shared.license.withLock({ $0.problem }) { return problem }
        return licensing.validate(unixTime: Int64(WallClock.secondsSinceEpoch())).message
    }

    var authorityText: String? { licensing.authority?.description }

    /// Answers the waiters once licensing has no request in flight any more.
    func answerSettledWaiters(_ events: [LicensingEvent]) {
        guard !waiters.isEmpty, !licensing.hasPendingRequest else { return }
        let refusal = events.lazy.compactMap { event -> Refusal? in
            if case .requestRefused(let refusal) = event.kind { refusal } else { nil }
        }.last
        let pending = waiters
        waiters.removeAll()
        for waiter in pending { waiter.slot.resolve(answer(for: waiter.kind, refusal: refusal)) }
    }

    func answerAllWaiters(_ outcome: RequestAnswer.Outcome, _ message: String) {
        let pending = waiters
        waiters.removeAll()
        for waiter in pending {
            waiter.slot.resolve(RequestAnswer(outcome: outcome, cores: licensing.ownGrant?.cores ?? 0, authority: authorityText, message: message))
        }
    }

    private func supersede(by kind: RequestWaiter.Kind) {
        let replaced = waiters.filter { $0.kind != kind }
        guard !replaced.isEmpty else { return }
        waiters.removeAll { $0.kind != kind }
        let message = kind == .acquire ? "superseded by an acquire request made meanwhile" : "superseded by a release request made meanwhile"
        for waiter in replaced {
            waiter.slot.resolve(RequestAnswer(outcome: .unavailable, cores: licensing.ownGrant?.cores ?? 0, authority: authorityText, message: message))
        }
    }

    private func answer(for kind: RequestWaiter.Kind, refusal: Refusal?) -> RequestAnswer {
        let held = licensing.ownGrant?.cores ?? 0
        if let refusal {
            let outcome: RequestAnswer.Outcome = if case .cpuLimitExhausted = refusal { .exhausted } else { .refused }
            return RequestAnswer(outcome: outcome, cores: held, authority: authorityText, message: refusal.description)
        }
        switch kind {
        case .acquire:
            if let grant = licensing.ownGrant, grant.cores > 0 {
                return RequestAnswer(outcome: .granted, cores: grant.cores, authority: authorityText,
                                     message: "granted \(grant.cores) cores (stamp \(grant.stamp))")
            }
            if let last = licensing.lastRefusal {
                let outcome: RequestAnswer.Outcome = if case .cpuLimitExhausted = last { .exhausted } else { .refused }
                return RequestAnswer(outcome: outcome, cores: 0, authority: authorityText, message: last.description)
            }
            return RequestAnswer(outcome: .refused, cores: 0, authority: authorityText,
                                 message: "the license authority holds this node's cores as released; ask again to acquire")
        case .release:
            return RequestAnswer(outcome: .released, cores: held, authority: authorityText, message: "released this node's cores")
        }
    }
}
