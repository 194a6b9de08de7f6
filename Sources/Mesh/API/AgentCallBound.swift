import Synchronization

/// The hop from an HTTP handler into the agent's `AgentControl` calls, with a bound on the wait.
///
/// A handler must never wait forever: an agent whose loop is stuck would otherwise leave every
/// request (health probes included) hanging instead of answering 503. A call that misses its deadline
/// is abandoned, not cancelled: `AgentControl` calls are snapshots or requests already on their way,
/// and the client has its 503 by then. Abandoned calls still hold a task until the agent answers, so
/// at most `maximumOutstanding` may be pending at once; beyond that, calls are refused at once
/// instead of piling up tasks behind a stuck agent.
final class AgentCallBound: Sendable {
    enum Failure: Error, Equatable {
        /// The call did not return within its deadline.
        case timedOut(Duration)
        /// Too many earlier calls are still waiting for the agent.
        case saturated(outstanding: Int)
    }

    let maximumOutstanding: Int
    private let outstanding = Mutex(0)

    init(maximumOutstanding: Int) {
        self.maximumOutstanding = max(1, maximumOutstanding)
    }

    /// Calls still waiting for the agent, including abandoned ones.
    var outstandingCalls: Int { outstanding.withLock { $0 } }

    /// Runs `operation` and returns its value, or a failure once `timeout` passes first.
    func call<Value: Sendable>(timeout: Duration, _ operation: @escaping @Sendable () async -> Value) async -> Result<Value, Failure> {
        let admitted = outstanding.withLock { count -> Bool in
            guard count < maximumOutstanding else { return false }
            count += 1
            return true
        }
        guard admitted else { return .failure(.saturated(outstanding: maximumOutstanding)) }

        let first = FirstAnswer<Result<Value, Failure>>()
        Task.detached { [self] in
            let value = await operation()
            outstanding.withLock { $0 -= 1 }
            first.resolve(.success(value))
        }
        return await first.value(within: timeout) { .failure(.timedOut(timeout)) }
    }
}
