import Dispatch
import Synchronization

/// The hop from an HTTP worker thread (synchronous, see `HTTPServer`) into the agent's async
/// `AgentControl` calls, with a bound on the wait.
///
/// A worker must never wait forever: an agent whose loop is stuck would otherwise hold every worker
/// and the API (health probes included) would hang instead of answering 503. A call that misses its
/// deadline is abandoned, not cancelled: `AgentControl` calls are snapshots or requests already on
/// their way, and the worker has answered 503 by then. Abandoned calls still hold a task until the
/// agent answers, so at most `maximumOutstanding` may be pending at once; beyond that, calls are
/// refused at once instead of piling up tasks behind a stuck agent.
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

    /// Runs `operation` on the concurrency pool and blocks this (non-async) thread until it returns
    /// or `timeout` passes.
    func call<Value: Sendable>(timeout: Duration, _ operation: @escaping @Sendable () async -> Value) -> Result<Value, Failure> {
        let admitted = outstanding.withLock { count -> Bool in
            guard count < maximumOutstanding else { return false }
            count += 1
            return true
        }
        guard admitted else { return .failure(.saturated(outstanding: maximumOutstanding)) }

        let slot = AnswerSlot<Value>()
        Task.detached { [self] in
            let value = await operation()
            outstanding.withLock { $0 -= 1 }
            slot.fill(value)
        }
        guard let value = slot.wait(timeout: timeout) else { return .failure(.timedOut(timeout)) }
        return .success(value)
    }
}

/// One answer handed from a task to a waiting thread.
private final class AnswerSlot<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    private let filled = DispatchSemaphore(value: 0)

    func fill(_ answer: Value) {
        value.withLock { $0 = answer }
        filled.signal()
    }

    func wait(timeout: Duration) -> Value? {
        let nanoseconds = Int(clamping: max(0, timeout.nanoseconds))
        guard filled.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success else { return nil }
        return value.withLock { $0 }
    }
}
