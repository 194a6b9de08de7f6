import Dispatch

/// Runs CPU-bound work (simulations over many seeds) on a GCD thread and waits for it without holding
/// a thread of Swift's cooperative pool. The pool has one thread per core: on a two-core machine two
/// minutes-long simulations on it would starve every async task beside them (an HTTP test's handler,
/// say), which then time out for no fault of their own.
public func runOffThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}
