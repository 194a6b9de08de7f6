import Dispatch
import Synchronization

/// A fixed set of worker threads, each serving one connection at a time. The accept thread hands a
/// connection over only when a worker is idle; otherwise the caller refuses it, so there is never a
/// queue of connections waiting (and timing out) behind busy workers.
final class HTTPWorkerPool: Sendable {
    private final class Core: Sendable {
        struct State {
            var idle: Int
            var handedOver: [StreamConnection] = []
            var stopping = false
        }

        let state: Mutex<State>
        /// One signal per connection handed over, plus one per worker at stop.
        let work = DispatchSemaphore(value: 0)

        init(size: Int) { state = Mutex(State(idle: size)) }

        func runWorker(_ serve: @Sendable (StreamConnection) -> Void) {
            while true {
                work.wait()
                let next: StreamConnection? = state.withLock { state in
                    state.handedOver.isEmpty ? nil : state.handedOver.removeFirst()
                }
                // No connection means the signal was a stop (connections are always queued before theirs).
                guard let connection = next else { return }
                serve(connection)
                state.withLock { $0.idle += 1 }
            }
        }
    }

    private let core: Core
    private let threads: [IOThread]

    init(size: Int, serve: @escaping @Sendable (StreamConnection) -> Void) {
        let size = max(1, size)
        let core = Core(size: size)
        self.core = core
        threads = (0..<size).map { index in
            IOThread(name: "licmesh-http-\(index)") { core.runWorker(serve) }
        }
    }

    var size: Int { threads.count }

    /// Gives `connection` to an idle worker; false (the connection untouched) when all are busy or
    /// the pool is stopping.
    func tryHandOver(_ connection: StreamConnection) -> Bool {
        let accepted = core.state.withLock { state in
            guard !state.stopping, state.idle > 0 else { return false }
            state.idle -= 1
            state.handedOver.append(connection)
            return true
        }
        if accepted { core.work.signal() }
        return accepted
    }

    /// Lets the workers finish the connections they hold (the server's stop signal cuts their waits
    /// short), then joins them. Call after the accept thread has stopped handing connections over.
    func stop() {
        core.state.withLock { $0.stopping = true }
        for _ in threads { core.work.signal() }
        for thread in threads { thread.join() }
    }
}
