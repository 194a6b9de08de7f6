import CLinux
import Glibc

/// An epoll(7) set for ONE event-loop thread: thousands of registered descriptors cost nothing per
/// wait, only the ready ones are reported. Level-triggered, so a descriptor left unread is reported
/// again, and interest is changed with `update` (e.g. no reading while a request is being answered).
///
/// Not Sendable on purpose: it belongs to the thread that waits on it.
final class EventPoll {
    /// What a registered descriptor should be reported for.
    struct Interest: OptionSet, Hashable {
        let rawValue: UInt32
        static let readable = Interest(rawValue: EPOLLIN.rawValue)
        static let writable = Interest(rawValue: EPOLLOUT.rawValue)
        /// Neither: only errors and hang-ups, which epoll always reports.
        static let none: Interest = []
    }

    /// One ready descriptor: its token and what it is ready for.
    struct Event {
        var token: UInt64
        var readable: Bool
        var writable: Bool
        /// An error or a hang-up of both directions: the next read or write reports it.
        var failed: Bool
    }

    private let descriptor: OwnedDescriptor
    private var buffer: [epoll_event]

    init(capacity: Int = 256) throws(SocketError) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw SocketError(operation: "create an epoll set", errno: errno) }
        descriptor = OwnedDescriptor(fd)
        buffer = Array(repeating: epoll_event(), count: max(16, capacity))
    }

    deinit { descriptor.close() }

    func add(_ fd: Int32, token: UInt64, interest: Interest) throws(SocketError) {
        try control(EPOLL_CTL_ADD, fd, token: token, interest: interest)
    }

    func update(_ fd: Int32, token: UInt64, interest: Interest) throws(SocketError) {
        try control(EPOLL_CTL_MOD, fd, token: token, interest: interest)
    }

    /// Best effort: a descriptor about to be closed leaves the set by itself anyway.
    func remove(_ fd: Int32) {
        var unused = epoll_event()
        _ = descriptor.withDescriptor { epoll_ctl($0, EPOLL_CTL_DEL, fd, &unused) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever). A signal interrupting the wait gives no events.
    func wait(timeoutMilliseconds: Int32) throws(SocketError) -> [Event] {
        let count = descriptor.withDescriptor { fd in
            buffer.withUnsafeMutableBufferPointer { epoll_wait(fd, $0.baseAddress, Int32($0.count), timeoutMilliseconds) }
        } ?? -1
        if count < 0 {
            if errno == EINTR { return [] }
            throw SocketError(operation: "wait on the epoll set", errno: errno)
        }
        let failure = EPOLLERR.rawValue | EPOLLHUP.rawValue
        return (0..<Int(count)).map { index in
            let event = buffer[index]
            return Event(
                token: event.data.u64, readable: event.events & EPOLLIN.rawValue != 0,
                writable: event.events & EPOLLOUT.rawValue != 0, failed: event.events & failure != 0)
        }
    }

    private func control(_ operation: Int32, _ fd: Int32, token: UInt64, interest: Interest) throws(SocketError) {
        var event = epoll_event()
        event.events = interest.rawValue
        event.data.u64 = token
        let result = descriptor.withDescriptor { epoll_ctl($0, operation, fd, &event) } ?? -1
        guard result == 0 else { throw SocketError(operation: "watch a descriptor with epoll", errno: errno) }
    }
}
