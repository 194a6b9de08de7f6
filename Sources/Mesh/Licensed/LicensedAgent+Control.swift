import Licensing
import SWIM

/// The local API's view of the agent. `validate` reads what the I/O thread last published and never
/// waits; `acquire` and `release` wait for the authority's answer, at most the timeout; `status` is
/// one consistent snapshot taken on the I/O thread.
extension LicensedAgent: AgentControl {
    public func validate(feature: String?) async -> ValidationAnswer {
        guard agent.isRunning else {
            return ValidationAnswer(allowed: false, cores: 0, message: "The license agent has stopped. Fix: start it again (licmesh agent --config FILE).")
        }
        let node = shared.validation.withLock { $0 }
        let check = node.validate(feature: feature, unixTime: Int64(WallClock.secondsSinceEpoch()))
        let answer: ValidationAnswer
        switch check {
        case .allowed(let grant):
            answer = ValidationAnswer(allowed: true, cores: grant.cores, message: "")
        case .denied(let reason):
            // The library says "did not verify, see the log"; the log's reason is at hand here.
            let problem = node.licenseValid ? nil : shared.license.withLock { $0.problem }
            answer = ValidationAnswer(allowed: false, cores: 0, message: problem ?? reason)
        }
        shared.count { counters in
            if answer.allowed { counters.validationsAllowed += 1 } else { counters.validationsDenied += 1 }
        }
        return answer
    }

    public func acquire(cores: Int?, timeout: Duration) async -> RequestAnswer {
        await request(timeout: timeout) { application, slot, context in application.acquire(cores: cores, answer: slot, context) }
    }

    public func release(timeout: Duration) async -> RequestAnswer {
        await request(timeout: timeout) { application, slot, context in application.release(answer: slot, context) }
    }

    private func request(timeout: Duration,
                         _ start: @escaping @Sendable (LicensingApplication, FirstAnswer<RequestAnswer>, AgentContext) -> [AgentAction]) async -> RequestAnswer {
        let slot = FirstAnswer<RequestAnswer>()
        let posted: Bool? = await agent.withApplication { application, context in
            guard let licensing = application as? LicensingApplication else { return (false, []) }
            return (true, start(licensing, slot, context))
        }
        guard posted == true else {
            return RequestAnswer(outcome: .unavailable, cores: 0, authority: nil, message: "the agent is not running")
        }
        let shared = self.shared
        return await slot.value(within: timeout) {
            let node = shared.validation.withLock { $0 }
            return RequestAnswer(outcome: .unavailable, cores: node.ownGrant?.cores ?? 0, authority: node.authority?.description,
                                 message: "No license authority answered within \(formatSeconds(timeout.seconds)); the request stays pending "
                                     + "and is retried with the next license server. Check `licmesh status` for the authority.")
        }
    }

    public func status() async -> AgentStatus {
        let view: LicensingView? = await agent.withApplication { application, context in
            guard let licensing = application as? LicensingApplication else { return (nil, []) }
            return (LicensingView(licensing: licensing.licensing, myself: context.myself, others: context.members, isJoined: context.isJoined), [])
        } ?? nil
        let fallback = LicensingView(licensing: shared.validation.withLock { $0 }, myself: agent.myself,
                                     others: agent.members.filter { $0.id != agent.id }, isJoined: false)
        return makeStatus(view ?? fallback, running: view != nil)
    }

    public func metrics() async -> String {
        let view: LicensingView? = await agent.withApplication { application, context in
            guard let licensing = application as? LicensingApplication else { return (nil, []) }
            return (LicensingView(licensing: licensing.licensing, myself: context.myself, others: context.members, isJoined: context.isJoined), [])
        } ?? nil
        return LicensedMetrics.exposition(view: view ?? LicensingView(licensing: shared.validation.withLock { $0 }, myself: agent.myself,
                                                                       others: agent.members.filter { $0.id != agent.id }, isJoined: false),
                                          running: view != nil, agent: agent.counters, licensing: shared.counters.withLock { $0 })
    }
}

/// The licensing state and membership as the I/O thread saw them at one moment.
struct LicensingView: Sendable {
    var licensing: LicensingNode
    var myself: Member
    var others: [Member]
    var isJoined: Bool
}
