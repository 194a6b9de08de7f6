import Licensing
import SWIM

/// The local API's view of the agent. `validate` reads what the I/O thread last published and never
/// waits; `acquire` and `release` wait for the authority's answer, at most the timeout; `status` is
/// one consistent snapshot taken on the I/O thread.
extension LicensedAgent: AgentControl {
    /// Answered from this node's replica in microseconds, never waiting on the network; call it
    /// before each unit of licensed work.
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

    /// Asks the authority for `cores` (the configured count when nil) and waits for its answer, at
    /// most `timeout`; a refused node asks again by itself once cores are freed.
    public func acquire(cores: Int?, timeout: Duration) async -> RequestAnswer {
        await request(timeout: timeout) { .acquire(cores: cores, answer: $0) }
    }

    /// Gives this node's cores back and waits for the authority's answer, at most `timeout`.
    public func release(timeout: Duration) async -> RequestAnswer {
        await request(timeout: timeout) { .release(answer: $0) }
    }

    /// Posts a request and waits for its settlement, at most `timeout` (the request stays pending).
    private func request(timeout: Duration, _ command: (FirstAnswer<RequestAnswer>) -> LoopCommand) async -> RequestAnswer {
        let slot = FirstAnswer<RequestAnswer>()
        guard agent.post(command(slot)) else {
            return RequestAnswer(outcome: .unavailable, cores: 0, authority: nil, message: "the agent is not running")
        }
        let shared = self.shared
        return await slot.value(within: timeout) {
            let node = shared.validation.withLock { $0 }
            return RequestAnswer(outcome: .unavailable, cores: node.ownGrant?.cores ?? 0, authority: node.authority?.description,
                                 message: "No license authority answered within \(formatDuration(timeout)); the request stays pending "
                                     + "and is retried with the next license server. Check `licmesh status` for the authority.")
        }
    }

    /// One consistent view, taken on the I/O thread; the last published one when the agent has stopped.
    func view() async -> (LicensingView, running: Bool) {
        if let view = await agent.read({ node, now in
            node.licensing.map { LicensingView(licensing: $0, myself: node.swim.myself, others: node.swim.members, isJoined: node.swim.isJoined, now: now) }
        }), let view {
            return (view, true)
        }
        let fallback = LicensingView(licensing: shared.validation.withLock { $0 }, myself: agent.myself,
                                     others: agent.members.filter { $0.id != agent.id }, isJoined: false, now: MonotonicClock.now())
        return (fallback, false)
    }

    /// The cluster as this node sees it, with its problems and their fixes (`licmesh status`).
    public func status() async -> AgentStatus {
        let (view, running) = await view()
        return makeStatus(view, running: running)
    }

    /// The Prometheus text exposition (`GET /metrics`).
    public func metrics() async -> String {
        let (view, running) = await view()
        return LicensedMetrics.exposition(view: view, running: running, agent: agent.counters, licensing: shared.counters.withLock { $0 },
                                          kernelDrops: KernelDrops.udp(port: agent.boundAddress.port))
    }
}

/// The licensing state and membership as the I/O thread saw them at one moment.
struct LicensingView: Sendable {
    var licensing: LicensingNode
    var myself: Member
    var others: [Member]
    var isJoined: Bool
    /// The I/O thread's monotonic time of the snapshot.
    var now: Instant
}
