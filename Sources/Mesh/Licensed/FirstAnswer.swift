import Synchronization

/// A one-shot answer that two parties race to give (the licensing layer's answer and a timeout):
/// the first `resolve` wins, later ones do nothing, and `value` waits for it.
final class FirstAnswer<Value: Sendable>: Sendable {
    private let state = Mutex<(value: Value?, waiters: [CheckedContinuation<Value, Never>])>((nil, []))

    init() {}

    /// True when this call gave the answer.
    @discardableResult
    func resolve(_ value: Value) -> Bool {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, Never>]? in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    var isResolved: Bool { state.withLock { $0.value != nil } }

    var value: Value {
        get async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
                let ready = state.withLock { state -> Value? in
                    if let value = state.value { return value }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    /// The answer, or `fallback()` when none came within `timeout`.
    func value(within timeout: Duration, fallback: @escaping @Sendable () -> Value) async -> Value {
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { resolve(fallback()) }
        }
        let answer = await value
        timer.cancel()
        return answer
    }
}
