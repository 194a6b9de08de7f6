import Dispatch
import Foundation

/// A named thread running one closure, that can be joined for a clean shutdown: the agent's I/O
/// loop, or a short-lived stream worker. Named so that `top -H` and debuggers show what it is.
public final class IOThread: Sendable {
    public let name: String
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the thread at once.
    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        self.name = name
        let finished = self.finished
        let thread = Thread {
            body()
            finished.signal()
        }
        // Linux keeps 15 bytes of a thread's name.
        thread.name = String(name.utf8.prefix(15)) ?? "licmesh-io"
        thread.start()
    }

    /// Waits until the closure has returned. Any number of threads may join, any number of times.
    /// Joining from the thread itself would wait forever, so make the closure return first.
    public func join() {
        finished.wait()
        finished.signal()
    }

    /// Waits at most `timeout`; returns whether the closure has returned.
    public func join(timeout: Duration) -> Bool {
        let nanoseconds = max(0, timeout.nanoseconds)
        guard finished.wait(timeout: .now() + .nanoseconds(Int(clamping: nanoseconds))) == .success else { return false }
        finished.signal()
        return true
    }
}
