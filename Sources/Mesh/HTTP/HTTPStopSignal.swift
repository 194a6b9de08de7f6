import Synchronization

/// Tells every thread of a stopping server to finish: a flag for the loops to check, and a descriptor
/// that becomes readable, so that workers waiting in poll(2) for a slow or idle client wake at once.
///
/// The descriptor is a `Wakeup` that is woken once and never drained, so it stays readable for every
/// worker that polls it, now or later.
final class HTTPStopSignal: Sendable {
    private let wakeup: Wakeup
    private let stopped = Atomic<Bool>(false)

    init() throws(SocketError) {
        wakeup = try Wakeup()
    }

    var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Readable once `stop()` was called; valid until `close()`, which the server calls only after
    /// every worker has returned.
    var descriptor: Int32 { wakeup.readDescriptor }

    func stop() {
        stopped.store(true, ordering: .releasing)
        wakeup.wake()
    }

    func close() { wakeup.close() }
}
