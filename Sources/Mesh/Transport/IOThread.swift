import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// A named thread running one closure, that can be joined for a clean shutdown: the agent's I/O
/// loop, or a short-lived stream worker. Named so that `top -H` and debuggers show what it is.
///
/// A plain POSIX thread rather than Foundation's `Thread`: the agent links FoundationEssentials at
/// most, never full Foundation (and its ICU), to stay small in memory.
public final class IOThread: Sendable {
    public let name: String
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the thread at once.
    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        self.name = name
        let finished = self.finished
        // Linux keeps 15 bytes of a thread's name.
        let shortName = String(name.utf8.prefix(15)) ?? "licmesh-io"
        let start = ThreadStart {
            _ = clinux_set_thread_name(shortName)
            body()
            finished.signal()
        }
        // Detached: nobody calls pthread_join; `join()` waits on the semaphore instead.
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(start).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { context in
            Unmanaged<ThreadStart>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
        // Foundation's Thread also traps when the system refuses a thread; without one the agent cannot run.
        guard result == 0 else {
            Unmanaged<ThreadStart>.fromOpaque(context).release()
            fatalError("cannot start thread \(name): \(String(cString: strerror(result)))")
        }
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

/// The closure a new thread runs, boxed to cross pthread_create's `void *` argument.
private final class ThreadStart: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
