import Glibc
import Synchronization
import SWIM

/// Something the poller can wait on: `UDPSocket`, `StreamListener`, `StreamConnection`.
protocol PollableSource: AnyObject, Sendable {
    /// The open descriptor, or nil once closed (a closed source is skipped, never polled).
    var fileDescriptor: Int32? { get }
}

/// A poll(2) loop helper for ONE I/O thread: wait until a registered source is readable, the next
/// protocol deadline comes, or another thread calls `wake()`.
///
/// Typical loop:
/// ```
/// while running {
///     let events = try poller.wait(until: nextDeadline)
///     if events.wasWoken { drainCommandQueue() }   // after wait: no command is ever missed
///     if events.isReady(udpToken) { while let d = udp.receive(into: &buffer) { handle(d) } }
///     fireTimers(now: MonotonicClock.now())
/// }
/// ```
/// Registration may happen from any thread (it takes effect at the next wait; call `wake()` to make
/// that immediate). Sources are held strongly until unregistered; close them on the I/O thread after
/// unregistering, since closing a descriptor another thread is polling does not interrupt that poll.
final class Poller: Sendable {
    private let registrations = Mutex<[(token: Int, source: any PollableSource)]>([])
    private let wakeup: Wakeup

    public init() throws(SocketError) {
        wakeup = try Wakeup()
    }

    /// Watches `source` for readability, reported as `token`. Registering a token again replaces it.
    public func register(_ source: any PollableSource, token: Int) {
        registrations.withLock { entries in
            entries.removeAll { $0.token == token }
            entries.append((token, source))
        }
    }

    public func unregister(token: Int) {
        registrations.withLock { entries in entries.removeAll { $0.token == token } }
    }

    /// Interrupts the current or next wait. Safe from any thread.
    public func wake() { wakeup.wake() }

    /// A wake handle that other threads can keep without keeping the poller's sources alive.
    public var wakeHandle: Wakeup { wakeup }

    /// Waits until the monotonic deadline (`Instant.distantFuture`: no deadline).
    public func wait(until deadline: Instant) throws(SocketError) -> PollEvents {
        if deadline == .distantFuture { return try wait(timeoutMilliseconds: -1) }
        let left = deadline.nanoseconds &- MonotonicClock.now().nanoseconds
        return try wait(timeoutMilliseconds: PollTimeout.milliseconds(roundingUp: left))
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever, 0: just check). A signal interrupting the wait
    /// gives an empty result; the caller's loop simply goes round again.
    public func wait(timeoutMilliseconds: Int32) throws(SocketError) -> PollEvents {
        let snapshot = registrations.withLock { entries in
            entries.compactMap { entry in entry.source.fileDescriptor.map { (entry.token, $0) } }
        }
        var descriptors = [pollfd(fd: wakeup.readDescriptor, events: Int16(POLLIN), revents: 0)]
        descriptors.reserveCapacity(snapshot.count + 1)
        for (_, fd) in snapshot {
            descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
        }
        guard descriptors[0].fd >= 0 else { throw SocketError(operation: "wait on a closed poller", errno: EBADF) }

        let ready = poll(&descriptors, nfds_t(descriptors.count), timeoutMilliseconds)
        if ready < 0 {
            let code = errno
            if code == EINTR { return PollEvents(readyTokens: [], wasWoken: false) }
            throw SocketError(operation: "poll sockets", errno: code)
        }
        var events = PollEvents(readyTokens: [], wasWoken: false)
        guard ready > 0 else { return events }
        if descriptors[0].revents != 0 {
            wakeup.drain()
            events.wasWoken = true
        }
        // Errors and hang-ups count as readable: the next read reports (and clears) them.
        let interesting = Int16(POLLIN) | Int16(POLLERR) | Int16(POLLHUP)
        for (index, entry) in snapshot.enumerated() where descriptors[index + 1].revents & interesting != 0 {
            events.readyTokens.append(entry.0)
        }
        return events
    }

    /// Closes the wakeup channel; later waits throw and wakes do nothing. Registered sources stay open.
    public func close() {
        registrations.withLock { $0.removeAll() }
        wakeup.close()
    }

    /// Milliseconds from `now` until `deadline` for `wait(timeoutMilliseconds:)`: rounded up, 0 when
    /// already due, -1 for `distantFuture`.
    public static func milliseconds(until deadline: Instant, now: Instant) -> Int32 {
        if deadline == .distantFuture { return -1 }
        return PollTimeout.milliseconds(roundingUp: deadline.nanoseconds &- now.nanoseconds)
    }
}

/// What one `Poller.wait` saw.
struct PollEvents: Sendable, Hashable {
    /// Tokens of the sources that are readable (or have an error to report).
    public var readyTokens: [Int]
    /// Some thread called `wake()` since the previous wait.
    public var wasWoken: Bool

    public init(readyTokens: [Int], wasWoken: Bool) {
        self.readyTokens = readyTokens
        self.wasWoken = wasWoken
    }

    public func isReady(_ token: Int) -> Bool { readyTokens.contains(token) }
}
